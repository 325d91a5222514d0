mod scenarios;
mod simulation;
