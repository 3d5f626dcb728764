//! Tables drawn the way Skypunch drew them.
//!
//! ```text
//! +----+------------------------------+
//! | ID | Name                         |
//! +----+------------------------------+
//! | 1  | Google Dot COM               |
//! +----+------------------------------+
//! ```
//!
//! Lists rule off the header and the end; detail tables ([`Table::detail`]) rule off
//! every row. Columns are as wide as their widest cell, left-aligned.

/// A table being built.
///
/// Its cells are kept one after another in one string: a list of 100,000 rows is
/// 700,000 cells, and a string each made `skypunchctl targets` spend more time in
/// the allocator and in page faults than in drawing.
pub struct Table {
    header: Option<Vec<String>>,
    /// Every row's cells, one after another.
    text: String,
    /// Where each cell ends in `text`.
    cell_ends: Vec<usize>,
    /// Where each row's cells end in `cell_ends`.
    row_ends: Vec<usize>,
    rule_every_row: bool,
}

impl Table {
    /// A list with a header row.
    pub fn list<S: ToString>(header: &[S]) -> Table {
        let header = header.iter().map(ToString::to_string).collect();
        Table::empty(Some(header), false)
    }

    /// A two-column `name | value` table with a rule under every row.
    pub fn detail() -> Table {
        Table::empty(None, true)
    }

    fn empty(header: Option<Vec<String>>, rule_every_row: bool) -> Table {
        Table {
            header,
            text: String::new(),
            cell_ends: Vec::new(),
            row_ends: Vec::new(),
            rule_every_row,
        }
    }

    /// Adds a row.
    pub fn row<S: std::fmt::Display>(&mut self, cells: &[S]) -> &mut Table {
        use std::fmt::Write;
        for c in cells {
            // Writing into a String cannot fail.
            let _ = write!(self.text, "{c}");
            self.cell_ends.push(self.text.len());
        }
        self.row_ends.push(self.cell_ends.len());
        self
    }

    /// The rows, each as its cells.
    fn rows(&self) -> impl Iterator<Item = Cells<'_>> {
        let starts = std::iter::once(0).chain(self.row_ends.iter().copied());
        starts.zip(&self.row_ends).map(|(first, &end)| Cells {
            text: &self.text,
            from: first.checked_sub(1).map_or(0, |i| self.cell_ends[i]),
            ends: &self.cell_ends[first..end],
        })
    }

    /// Renders the table; every line ends with `\n`.
    pub fn render(&self) -> String {
        let header = self.header.as_deref().unwrap_or_default();
        let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
        for row in self.rows() {
            for (i, cell) in row.enumerate() {
                match widths.get_mut(i) {
                    Some(w) => *w = (*w).max(width(cell)),
                    None => widths.push(width(cell)),
                }
            }
        }
        let mut rule = String::from("+");
        for w in &widths {
            pad(&mut rule, '-', w + 2);
            rule.push('+');
        }
        rule.push('\n');
        // Drawn into one buffer, sized for the whole table.
        let lines = self.row_ends.len() * if self.rule_every_row { 2 } else { 1 } + 4;
        let mut out = String::with_capacity(lines * rule.len());
        let line = |out: &mut String, row: &mut dyn Iterator<Item = &str>| {
            out.push('|');
            for w in &widths {
                let cell = row.next().unwrap_or("");
                out.push(' ');
                out.push_str(cell);
                pad(out, ' ', w - width(cell) + 1);
                out.push('|');
            }
            out.push('\n');
        };
        out.push_str(&rule);
        if self.header.is_some() {
            line(&mut out, &mut header.iter().map(String::as_str));
            out.push_str(&rule);
        }
        for mut row in self.rows() {
            line(&mut out, &mut row);
            if self.rule_every_row {
                out.push_str(&rule);
            }
        }
        if !self.rule_every_row && !self.row_ends.is_empty() {
            out.push_str(&rule);
        }
        out
    }
}

/// One row's cells, read from the table's text.
struct Cells<'a> {
    text: &'a str,
    from: usize,
    ends: &'a [usize],
}

impl<'a> Iterator for Cells<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let (&to, rest) = self.ends.split_first()?;
        let cell = &self.text[self.from..to];
        (self.from, self.ends) = (to, rest);
        Some(cell)
    }
}

/// Appends `n` copies of an ASCII `fill`, a run at a time: a list of 100,000 rows pads
/// 700,000 cells.
fn pad(out: &mut String, fill: char, n: usize) {
    const SPACES: &str = "                                                                ";
    const DASHES: &str = "----------------------------------------------------------------";
    let run = match fill {
        ' ' => SPACES,
        '-' => DASHES,
        _ => {
            out.extend(std::iter::repeat_n(fill, n));
            return;
        }
    };
    let mut left = n;
    while left > 0 {
        let k = left.min(run.len());
        out.push_str(&run[..k]);
        left -= k;
    }
}

/// A cell's width in characters (its length, for ASCII).
fn width(cell: &str) -> usize {
    if cell.is_ascii() {
        cell.len()
    } else {
        cell.chars().count()
    }
}

/// Cells are single-line: newlines and tabs become spaces so the borders stay straight.
pub fn cell(text: &str) -> String {
    single_line(text).into_owned()
}

/// As [`cell`], borrowing the text when it is already single-line.
pub fn single_line(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(char::is_control) {
        text.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

/// The header cells of a rendered list table, for tests that check its columns.
#[cfg(test)]
pub fn header_cells(text: &str) -> Vec<&str> {
    text.lines()
        .nth(1)
        .unwrap_or("")
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_matches_skypunch() {
        let mut t = Table::list(&["ID", "Name", "Enabled"]);
        t.row(&["1", "Google Dot COM", "Yes"]);
        t.row(&["12", "x", "No"]);
        assert_eq!(
            t.render(),
            "+----+----------------+---------+\n\
             | ID | Name           | Enabled |\n\
             +----+----------------+---------+\n\
             | 1  | Google Dot COM | Yes     |\n\
             | 12 | x              | No      |\n\
             +----+----------------+---------+\n"
        );
    }

    #[test]
    fn detail_rules_every_row() {
        let mut t = Table::detail();
        t.row(&["ID", "1"]).row(&["Name", "Operations"]);
        assert_eq!(
            t.render(),
            "+------+------------+\n\
             | ID   | 1          |\n\
             +------+------------+\n\
             | Name | Operations |\n\
             +------+------------+\n"
        );
    }

    #[test]
    fn unicode_is_measured_in_characters() {
        let mut t = Table::list(&["Name"]);
        t.row(&["Überwachung"]);
        let out = t.render();
        let widths: Vec<usize> = out.lines().map(|l| l.chars().count()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{out}");
    }

    #[test]
    fn control_characters_do_not_break_rows() {
        assert_eq!(cell("a\nb\tc"), "a b c");
        assert!(matches!(
            single_line("a b"),
            std::borrow::Cow::Borrowed("a b")
        ));
    }

    #[test]
    fn cells_wider_than_a_run_of_padding_are_padded_whole() {
        let wide = "x".repeat(150);
        let mut t = Table::list(&["N"]);
        t.row(&[wide.as_str()]).row(&["y"]);
        let out = t.render();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], format!("+{}+", "-".repeat(152)));
        assert_eq!(lines[4], format!("| y{} |", " ".repeat(149)));
        assert!(lines.iter().all(|l| l.len() == 154), "{out}");
    }
}
