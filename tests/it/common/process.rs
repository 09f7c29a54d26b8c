//! Running the real binary as a child process.

use std::process::{Child, Command};

/// The `elements-gateway` binary, with no `GATEWAY_*` variables inherited from the test's
/// environment.
pub(crate) fn gateway_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_elements-gateway"));
    for (name, _) in std::env::vars() {
        if name.starts_with("GATEWAY_") {
            command.env_remove(name);
        }
    }
    command
}

/// Kills the child when the test ends, however it ends.
pub(crate) struct Running(pub(crate) Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
