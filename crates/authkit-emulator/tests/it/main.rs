//! The emulator's integration tests: one binary, a module per control. They drive the
//! emulator over real HTTP with plain reqwest, as any app or SDK would.

mod support;

mod control;
mod faults;
mod impersonation;
mod organizations;
mod registration;
mod rotation;
mod seeding;
mod webhooks;
