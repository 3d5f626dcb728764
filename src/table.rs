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
pub struct Table {
    header: Option<Vec<String>>,
    rows: Vec<Vec<String>>,
    rule_every_row: bool,
}

impl Table {
    /// A list with a header row.
    pub fn list<S: ToString>(header: &[S]) -> Table {
        Table {
            header: Some(header.iter().map(ToString::to_string).collect()),
            rows: Vec::new(),
            rule_every_row: false,
        }
    }

    /// A two-column `name | value` table with a rule under every row.
    pub fn detail() -> Table {
        Table {
            header: None,
            rows: Vec::new(),
            rule_every_row: true,
        }
    }

    /// Adds a row.
    pub fn row<S: ToString>(&mut self, cells: &[S]) -> &mut Table {
        self.rows
            .push(cells.iter().map(ToString::to_string).collect());
        self
    }

    /// Appends a row whose cells are already strings, without copying them.
    pub fn push_row(&mut self, cells: Vec<String>) -> &mut Table {
        self.rows.push(cells);
        self
    }

    /// Renders the table; every line ends with `\n`.
    pub fn render(&self) -> String {
        let columns = self
            .header
            .iter()
            .chain(&self.rows)
            .map(Vec::len)
            .max()
            .unwrap_or(0);
        let mut widths = vec![0; columns];
        for row in self.header.iter().chain(&self.rows) {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(width(cell));
            }
        }
        let mut rule = String::from("+");
        for w in &widths {
            rule.extend(std::iter::repeat_n('-', w + 2));
            rule.push('+');
        }
        rule.push('\n');
        // Drawn into one buffer: a list of 100,000 rows is 700,000 cells.
        let lines = self.rows.len() * if self.rule_every_row { 2 } else { 1 } + 4;
        let mut out = String::with_capacity(lines * rule.len());
        let line = |out: &mut String, row: &Vec<String>| {
            out.push('|');
            for (i, w) in widths.iter().enumerate() {
                let cell = row.get(i).map(String::as_str).unwrap_or("");
                out.push(' ');
                out.push_str(cell);
                out.extend(std::iter::repeat_n(' ', w - width(cell) + 1));
                out.push('|');
            }
            out.push('\n');
        };
        out.push_str(&rule);
        if let Some(h) = &self.header {
            line(&mut out, h);
            out.push_str(&rule);
        }
        for row in &self.rows {
            line(&mut out, row);
            if self.rule_every_row {
                out.push_str(&rule);
            }
        }
        if !self.rule_every_row && !self.rows.is_empty() {
            out.push_str(&rule);
        }
        out
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
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
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
    }
}
