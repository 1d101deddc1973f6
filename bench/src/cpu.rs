//! How much CPU the bench itself used, all threads together: the load generator shares the
//! cores with the server and Postgres, so a run reports what its own share was. Linux only
//! (`/proc/self/stat`); elsewhere the figure is simply missing.

use std::time::Duration;

/// Clock ticks per second of `/proc/*/stat` (`USER_HZ`): 100 on every Linux architecture's
/// user-space ABI, whatever the kernel's internal tick rate.
const TICKS_PER_SECOND: u64 = 100;

/// User plus system CPU time of this process so far; `None` where `/proc` is not there.
pub fn used() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let ticks = user_and_system_ticks(&stat)?;
    Some(Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
}

/// `utime + stime` (fields 14 and 15) of a `/proc/<pid>/stat` line. The command name (field 2)
/// is in parentheses and may itself hold spaces and parentheses, so counting starts after the
/// last `)`, with field 3.
fn user_and_system_ticks(stat: &str) -> Option<u64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace().skip(14 - 3);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_user_and_system_time() {
        let stat = "4242 (bench (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 \
                    250 75 0 0 20 0 3 0 100 200000 500 18446744073709551615";
        assert_eq!(user_and_system_ticks(stat), Some(325));
        assert_eq!(user_and_system_ticks("4242 (bench) S 1 2"), None);
        assert_eq!(user_and_system_ticks("no parenthesis"), None);
    }

    #[test]
    fn this_process_has_used_some_time_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(used().is_some());
        }
    }
}
