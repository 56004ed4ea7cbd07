//! The latest figures as a Markdown block, written into a document between
//! two marker comments (`--markdown docs/benchmarks.md`), so updating the
//! published figures is a rerun: the block says when, on what and with which
//! command, then gives the table; the rest of the document stays as written.

use std::path::Path;

use anyhow::Context;

/// The comment that opens the block; everything up to [`END`] is replaced.
pub const BEGIN: &str =
    "<!-- access-bench:latest:begin (written by access-bench --markdown: edits inside are lost) -->";
/// The comment that closes the block.
pub const END: &str = "<!-- access-bench:latest:end -->";

/// What the block says about the run, each already worded.
pub struct Latest {
    /// When the run ended, e.g. `2026-12-01 02:05 UTC`.
    pub date: String,
    /// The machine (see [`machine`]) and where the server ran.
    pub machine: String,
    /// The database and cache the server used.
    pub backend: String,
    /// The data set's sizes and how long seeding took.
    pub data_set: String,
    /// How each cell was measured: rounds, window, warm-up, connections.
    pub cells: String,
    /// The command line (see [`command_line`]).
    pub command: String,
    /// The table of `report::markdown`.
    pub table: String,
}

/// The block, markers included, ending with a newline.
pub fn render(latest: &Latest) -> String {
    format!(
        "{BEGIN}\n\n\
         - date: {}\n\
         - machine: {}\n\
         - backend: {}\n\
         - data set: {}\n\
         - cells: {}\n\
         - command: `{}`\n\n\
         {}\n\
         {END}\n",
        latest.date,
        latest.machine,
        latest.backend,
        latest.data_set,
        latest.cells,
        latest.command,
        latest.table.trim_end(),
    )
}

/// `document` with the text from [`BEGIN`] to [`END`] (both included)
/// replaced by `block`; refused when the markers are missing, repeated or
/// out of order, so a mistyped path never gets a second table.
pub fn splice(document: &str, block: &str) -> anyhow::Result<String> {
    let begin_line = BEGIN.split(" (").next().unwrap_or(BEGIN);
    anyhow::ensure!(
        document.matches(begin_line).count() == 1 && document.matches(END).count() == 1,
        "the document must hold the markers once each: a line starting `{begin_line}` and `{END}`"
    );
    let start = document.find(begin_line).unwrap_or_default();
    let end = document.find(END).unwrap_or_default();
    anyhow::ensure!(start < end, "the end marker comes before the begin marker");
    let mut after = &document[end + END.len()..];
    after = after.strip_prefix('\n').unwrap_or(after);
    Ok(format!("{}{block}{after}", &document[..start]))
}

/// Writes the block into the document at `path` (see [`splice`]).
pub fn write(path: &Path, latest: &Latest) -> anyhow::Result<()> {
    let document =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let updated = splice(&document, &render(latest))
        .with_context(|| format!("cannot place the figures in {}", path.display()))?;
    std::fs::write(path, updated).with_context(|| format!("cannot write {}", path.display()))
}

/// The machine as far as the process can see it: cores, memory (from
/// /proc/meminfo, where there is one), operating system and architecture.
pub fn machine(cores: usize) -> String {
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|meminfo| mem_total_gib(&meminfo))
        .map(|gib| format!("{gib:.0} GiB of memory, "))
        .unwrap_or_default();
    format!(
        "{cores} cores, {memory}{} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// `MemTotal` of a /proc/meminfo text, in GiB.
fn mem_total_gib(meminfo: &str) -> Option<f64> {
    let line = meminfo.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / (1024.0 * 1024.0))
}

/// The command line as it could be typed again: the program by its file
/// name, and any argument a shell would split or expand in single quotes.
pub fn command_line(args: impl IntoIterator<Item = String>) -> String {
    args.into_iter()
        .enumerate()
        .map(|(i, arg)| {
            if i == 0 {
                Path::new(&arg)
                    .file_name()
                    .map_or(arg.clone(), |name| name.to_string_lossy().into_owned())
            } else if !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-./:,@=+%".contains(c))
            {
                arg
            } else {
                format!("'{}'", arg.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::report;
    use crate::scenarios::{Measurement, Op};
    use crate::stats::Sample;

    /// A cell of `op` at `concurrency` whose calls each took `ms`.
    fn cell(op: Op, concurrency: usize, calls: u32, ms: u64) -> Measurement {
        let mut sample = Sample::new();
        for _ in 0..calls {
            sample.ok(Duration::from_millis(ms));
        }
        sample.units = u64::from(calls) * if op == Op::Batch { 100 } else { 1 };
        Measurement {
            op,
            concurrency,
            sample,
            seconds: 2.0,
            background: None,
            ratios: vec![0.5],
            bare_ratios: vec![0.25],
            cpu_seconds: Some(0.001 * f64::from(calls)),
            floor: None,
        }
    }

    fn sample_latest() -> Latest {
        let results = vec![
            cell(Op::Health, 1, 400, 1),
            cell(Op::Authorize, 1, 200, 2),
            cell(Op::Batch, 16, 100, 4),
        ];
        let titles = |op: Op| op.key().to_owned();
        Latest {
            date: "2026-12-01 02:05 UTC".to_owned(),
            machine: "2 cores, 24 GiB of memory, linux x86_64; server in-process".to_owned(),
            backend: "mysql + Redis, 2 replicas".to_owned(),
            data_set: "10 accounts".to_owned(),
            cells: "1 round of 2 s".to_owned(),
            command: command_line(["target/release/access-bench", "--rounds", "3"].map(String::from)),
            table: report::markdown(&results, &titles),
        }
    }

    /// The table's rows, each split into its cells.
    fn rows(markdown: &str) -> Vec<Vec<String>> {
        markdown
            .lines()
            .filter(|line| line.starts_with('|'))
            .map(|line| {
                line.trim_matches('|')
                    .split('|')
                    .map(|cell| cell.trim().to_owned())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_block_says_when_where_and_how_then_gives_one_row_per_cell() {
        let block = render(&sample_latest());
        assert!(block.starts_with(BEGIN) && block.trim_end().ends_with(END));
        assert!(block.contains("\n- date: 2026-12-01 02:05 UTC\n"));
        assert!(block.contains("\n- machine: 2 cores, 24 GiB of memory, linux x86_64; server in-process\n"));
        assert!(block.contains("\n- command: `access-bench --rounds 3`\n"));
        let rows = rows(&block);
        // Header, alignment row, then the three cells in order.
        assert_eq!(rows.len(), 5);
        assert!(rows.iter().all(|row| row.len() == 13), "{rows:?}");
        assert_eq!(rows[0][0], "call");
        assert_eq!(rows[0][2], "requests/s");
        assert_eq!(rows[0][9], "× health");
        assert_eq!(rows[0][10], "× bare");
        let calls: Vec<(&str, &str, &str)> = rows[2..]
            .iter()
            .map(|row| (row[0].as_str(), row[1].as_str(), row[2].as_str()))
            .collect();
        assert_eq!(
            calls,
            [
                ("health", "1", "200"),
                ("authorize", "1", "100"),
                ("batch", "16", "50")
            ]
        );
        // p50 of a cell whose calls all took 2 ms, and the batch's gain over single checks.
        assert_eq!(rows[3][3], "2.00");
        assert_eq!(rows[3][9], "0.500");
        assert_eq!(rows[3][10], "0.250");
        assert!(rows[4][12].starts_with("5000 checks/s"), "{}", rows[4][11]);
    }

    #[test]
    fn splicing_replaces_the_old_block_and_keeps_the_rest() {
        let document = format!("# Benchmarks\n\nBefore.\n\n{BEGIN}\n| old | table |\n{END}\n\nAfter.\n");
        let block = render(&sample_latest());
        let once = splice(&document, &block).unwrap();
        assert!(once.starts_with("# Benchmarks\n\nBefore.\n\n"));
        assert!(once.ends_with(&format!("{END}\n\nAfter.\n")));
        assert!(!once.contains("| old | table |"));
        // A rerun replaces the block instead of adding a second one.
        let twice = splice(&once, &block).unwrap();
        assert_eq!(once, twice);
        assert_eq!(rows(&twice).len(), 5);
    }

    #[test]
    fn a_document_without_both_markers_is_refused() {
        let block = render(&sample_latest());
        assert!(splice("# Benchmarks\n", &block).is_err());
        assert!(splice(&format!("{BEGIN}\n"), &block).is_err());
        assert!(splice(&format!("{END}\n{BEGIN}\n"), &block).is_err());
        assert!(splice(&format!("{BEGIN}\n{END}\n{BEGIN}\n{END}\n"), &block).is_err());
    }

    /// The figures published in docs/benchmarks.md, read back field by
    /// field: rendering them again must give the block exactly, so the page
    /// holds what a rerun with `--markdown` would write.
    #[test]
    fn the_published_block_is_in_the_writers_layout() {
        let page = include_str!("../../../docs/benchmarks.md");
        let start = page.find(BEGIN).expect("docs/benchmarks.md has the begin marker");
        let end = page.find(END).expect("docs/benchmarks.md has the end marker") + END.len();
        let block = format!("{}\n", &page[start..end]);
        let field = |name: &str| {
            block
                .lines()
                .find_map(|line| line.strip_prefix(&format!("- {name}: ")))
                .unwrap_or_else(|| panic!("the block has no `{name}` line"))
                .to_owned()
        };
        let table: String = block
            .lines()
            .filter(|line| line.starts_with('|'))
            .map(|line| format!("{line}\n"))
            .collect();
        let published = Latest {
            date: field("date"),
            machine: field("machine"),
            backend: field("backend"),
            data_set: field("data set"),
            cells: field("cells"),
            command: field("command").trim_matches('`').to_owned(),
            table: table.clone(),
        };
        assert_eq!(render(&published), block);
        // The writer's columns, and a row for every cell.
        let empty = report::markdown(&[], &|op: Op| op.key().to_owned());
        assert!(table.starts_with(&empty), "the header is not the writer's");
        let rows = rows(&table);
        assert!(
            rows.len() > 2 && rows.iter().all(|row| row.len() == 13),
            "{rows:?}"
        );
    }

    #[test]
    fn the_command_line_can_be_typed_again() {
        let args = [
            "/x/target/release/access-bench",
            "--database-url",
            "mysql://root@127.0.0.1:3306/b",
            "--scenarios",
            "a b",
            "it's",
        ];
        assert_eq!(
            command_line(args.map(String::from)),
            r"access-bench --database-url mysql://root@127.0.0.1:3306/b --scenarios 'a b' 'it'\''s'"
        );
    }

    #[test]
    fn memory_comes_from_mem_total() {
        let gib = mem_total_gib("MemTotal:       24683772 kB\nMemFree: 1 kB\n").unwrap();
        assert_eq!(format!("{gib:.0}"), "24");
        assert_eq!(mem_total_gib("nothing"), None);
    }
}
