//! Output: lines for people, then one `RESULT {json}` line for `bench/run.sh`.

/// Prints `lines`, then `result` as compact JSON on a line of its own after `RESULT `.
pub fn emit(lines: &[String], result: &serde_json::Value) {
    for line in lines {
        println!("{line}");
    }
    println!("RESULT {result}");
}
