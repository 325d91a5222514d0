mod scenarios;
mod simulation;
mod stored;
