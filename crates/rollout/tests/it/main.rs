mod purity;
mod scenarios;
mod simulation;
