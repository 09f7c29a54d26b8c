//! Running the real binary as a child process.

use std::{process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, BufReader, Lines},
    process::{ChildStdout, Command},
};

/// The `elements-gateway` binary, with no `GATEWAY_*` variables inherited from the test's
/// environment.
pub(crate) fn gateway_command() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_elements-gateway"));
    for (name, _) in std::env::vars() {
        if name.starts_with("GATEWAY_") {
            command.env_remove(name);
        }
    }
    command
}

/// A running child whose standard output the test reads line by line; killed when dropped,
/// however the test ends.
pub(crate) struct Running {
    child: tokio::process::Child,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Running {
    /// Starts `command` with its standard output piped to the test (standard error is left
    /// as the command set it).
    pub(crate) fn start(command: std::process::Command) -> Self {
        let mut child = Command::from(command)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the binary starts");
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        Self { child, stdout }
    }

    /// The rest of the next line that starts with `prefix`, trimmed; lines before it are
    /// skipped. Fails if the child exits or 30 s pass first.
    pub(crate) async fn line_after(&mut self, prefix: &str) -> String {
        let wanted = async {
            while let Some(line) = self.stdout.next_line().await.expect("stdout reads") {
                if let Some(rest) = line.strip_prefix(prefix) {
                    return rest.trim().to_owned();
                }
            }
            panic!("the child exited without printing {prefix:?}");
        };
        tokio::time::timeout(Duration::from_secs(30), wanted)
            .await
            .unwrap_or_else(|_| panic!("no line starting {prefix:?} within 30 s"))
    }

    /// Sends SIGTERM and waits (up to `within`) for the child to exit; returns its status.
    pub(crate) async fn terminate(mut self, within: Duration) -> std::process::ExitStatus {
        let pid = self.child.id().expect("the child is running");
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -TERM {pid} failed");
        tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the child did not exit within {within:?} of SIGTERM"))
            .expect("the child's status")
    }

    /// Kills the child and waits until it is gone.
    pub(crate) async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
