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
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let rule: String = widths.iter().fold(String::from("+"), |mut s, w| {
            s.push_str(&"-".repeat(w + 2));
            s.push('+');
            s
        }) + "\n";
        let line = |row: &Vec<String>| {
            let mut s = String::from("|");
            for (i, w) in widths.iter().enumerate() {
                let cell = row.get(i).map(String::as_str).unwrap_or("");
                let pad = w - cell.chars().count();
                s.push(' ');
                s.push_str(cell);
                s.push_str(&" ".repeat(pad + 1));
                s.push('|');
            }
            s.push('\n');
            s
        };
        let mut out = rule.clone();
        if let Some(h) = &self.header {
            out.push_str(&line(h));
            out.push_str(&rule);
        }
        for row in &self.rows {
            out.push_str(&line(row));
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

/// Cells are single-line: newlines and tabs become spaces so the borders stay straight.
pub fn cell(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
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
