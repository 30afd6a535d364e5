//! The helper against real children: this test binary again, told what to do by an
//! environment variable.

use std::io::Write;
use std::process::Command;
use std::time::Duration;
use waitgraph_child_process::run;

const ROLE: &str = "WAITGRAPH_CHILD_PROCESS_ROLE";
const MIB: usize = 1 << 20;
/// A safety net only: a child that ends on its own is never near it.
const DEADLINE: Duration = Duration::from_secs(30);

/// Entry point of the child processes.
#[test]
#[ignore = "entry point of the child processes the other tests start"]
fn child() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    match role.as_str() {
        "stderr-mib" => std::io::stderr().write_all(&vec![b'e'; MIB]).unwrap(),
        "both-mib" => {
            // Alternately, so neither stream can be read to its end before the other.
            for _ in 0..16 {
                std::io::stdout().write_all(&vec![b'#'; MIB / 16]).unwrap();
                std::io::stderr().write_all(&vec![b'~'; MIB / 16]).unwrap();
            }
            std::io::stdout().flush().unwrap();
        }
        "forever" => loop {
            std::thread::park();
        },
        "a-minute" => std::thread::sleep(Duration::from_secs(60)),
        "leaves-a-grandchild" => leave_a_grandchild(),
        other => panic!("unknown role {other}"),
    }
}

/// Starts a child that inherits this process's output pipes and outlives it (this
/// process exits without waiting for it: it is reaped by whoever adopts it).
#[allow(clippy::zombie_processes)]
fn leave_a_grandchild() {
    let grandchild = child_process("a-minute")
        .spawn()
        .expect("start the grandchild");
    println!("grandchild {}", grandchild.id());
    std::io::stdout().flush().unwrap();
}

fn child_process(role: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("this test binary"));
    command
        .args([
            "child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, role);
    command
}

/// Counts `byte` in `text` (the test harness adds its own lines to the child's stdout:
/// the children write bytes that never appear in those).
fn count(text: &str, byte: u8) -> usize {
    text.bytes().filter(|&b| b == byte).count()
}

#[test]
fn a_child_writing_a_mebibyte_to_stderr_ends_on_its_own_with_every_byte_read() {
    let output = run(&mut child_process("stderr-mib"), DEADLINE);
    assert!(!output.killed(), "the child blocked on a full pipe");
    assert_eq!(output.code(), Some(0), "stdout:\n{}", output.stdout);
    assert_eq!(output.stderr.len(), MIB);
    assert_eq!(count(&output.stderr, b'e'), MIB);
}

#[test]
fn a_child_writing_a_mebibyte_to_each_stream_ends_on_its_own_with_every_byte_read() {
    let output = run(&mut child_process("both-mib"), DEADLINE);
    assert!(!output.killed(), "the child blocked on a full pipe");
    assert_eq!(output.code(), Some(0));
    assert_eq!(count(&output.stdout, b'#'), MIB);
    assert_eq!(output.stderr.len(), MIB);
    assert_eq!(count(&output.stderr, b'~'), MIB);
}

#[test]
fn a_child_that_never_ends_is_killed_and_reaped_at_the_deadline() {
    let deadline = Duration::from_millis(300);
    let output = run(&mut child_process("forever"), deadline);
    assert!(output.killed(), "{output}");
    assert_eq!(output.status, None);
    assert_eq!(output.code(), None);
    assert!(output.elapsed >= deadline, "killed before its deadline");
    assert!(output.to_string().contains("was killed"), "{output}");
    #[cfg(target_os = "linux")]
    assert!(
        !std::path::Path::new(&format!("/proc/{}", output.pid)).exists(),
        "child {} was killed and reaped",
        output.pid
    );
}

#[cfg(unix)]
#[test]
fn output_a_grandchild_keeps_open_does_not_hold_the_test() {
    let output = run(&mut child_process("leaves-a-grandchild"), DEADLINE);
    let grandchild: u32 = output
        .stdout
        .split_once("grandchild ")
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("the grandchild's pid in {output}"));
    // Or it holds the pipe for a minute.
    let killed = run(Command::new("kill").arg(grandchild.to_string()), DEADLINE);
    assert_eq!(killed.code(), Some(0), "{killed}");
    assert_eq!(output.code(), Some(0), "{output}");
    assert!(output.stdout.contains("still open"), "{output}");
}

#[cfg(unix)]
#[test]
fn a_failing_child_shows_its_status_and_both_streams() {
    let output = run(
        Command::new("sh").args(["-c", "echo out; echo err >&2; exit 7"]),
        DEADLINE,
    );
    assert_eq!(output.code(), Some(7));
    let shown = output.to_string();
    assert!(shown.contains("exit status: 7"), "{shown}");
    assert!(shown.contains("--- stdout ---\nout\n"), "{shown}");
    assert!(shown.contains("--- stderr ---\nerr\n"), "{shown}");
}
