mod history;
mod scenarios;
mod simulation;
mod stored;
