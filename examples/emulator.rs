//! Runs the WorkOS emulator on its own (being written).
fn main() {}
