//! The list of mailboxes to move: one line each, `address,source
//! user,source password` (the password left out when a master login is
//! used). Fields may be double-quoted, with `""` for a quote inside, so
//! that a password may hold commas. Empty lines, lines starting with `#`
//! and a first line naming the columns (`address,...`) are skipped. A bad
//! line is an error of its own; the other lines go on.

use postino_common::auth::Secret;

/// One mailbox to move.
#[derive(Debug)]
pub struct Line {
    pub address: String,
    pub user: String,
    pub password: Option<Secret>,
}

/// The lines of a CSV text, each parsed or why not. With `master`, the
/// password column is optional (and ignored if present).
pub fn parse(text: &str, master: bool) -> Vec<Result<Line, String>> {
    text.lines()
        .enumerate()
        .filter(|(at, line)| {
            let trimmed = line.trim();
            !(trimmed.is_empty()
                || trimmed.starts_with('#')
                || (*at == 0 && trimmed.to_ascii_lowercase().starts_with("address,")))
        })
        .map(|(at, line)| {
            line_fields(line.trim_end_matches('\r'))
                .and_then(|fields| to_line(fields, master))
                .map_err(|why| format!("line {}: {why}", at + 1))
        })
        .collect()
}

fn to_line(fields: Vec<String>, master: bool) -> Result<Line, String> {
    let wanted = if master { "2 or 3" } else { "3" };
    let ok = if master {
        fields.len() == 2 || fields.len() == 3
    } else {
        fields.len() == 3
    };
    if !ok {
        return Err(format!(
            "{} fields where {wanted} are expected (address,source user,source password)",
            fields.len()
        ));
    }
    let mut fields = fields.into_iter();
    let address = fields.next().unwrap_or_default().trim().to_string();
    let user = fields.next().unwrap_or_default().trim().to_string();
    if !address.contains('@') {
        return Err(format!("`{address}` is not a mail address"));
    }
    if user.is_empty() {
        return Err("the source user is empty".to_string());
    }
    let password = match master {
        true => None,
        false => Some(Secret::new(fields.next().unwrap_or_default())),
    };
    Ok(Line {
        address,
        user,
        password,
    })
}

/// The fields of one line.
fn line_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("a quoted field is not closed".to_string()),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => {}
                Some(_) => return Err("text after a quoted field".to_string()),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some(c) => field.push(c),
                }
            }
        }
        fields.push(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_quoted_fields() {
        let lines = parse(
            "address,user,password\n\
             # a comment\n\
             \n\
             anna@c.it,anna,segreta\r\n\
             bruno@c.it,\"b.rossi\",\"con,virgola \"\"e\"\" virgolette\"\n",
            false,
        );
        let lines: Vec<Line> = lines.into_iter().map(Result::unwrap).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].user, "anna");
        assert_eq!(lines[0].password.as_ref().unwrap().expose(), "segreta");
        assert_eq!(
            lines[1].password.as_ref().unwrap().expose(),
            "con,virgola \"e\" virgolette"
        );
    }

    #[test]
    fn bad_lines_are_errors_of_their_own() {
        let lines = parse(
            "anna@c.it,anna\nrossi,r,p\n\"x@c.it,a,b\ncarla@c.it,c,p\n",
            false,
        );
        assert!(
            lines[0]
                .as_ref()
                .unwrap_err()
                .starts_with("line 1: 2 fields")
        );
        assert!(
            lines[1]
                .as_ref()
                .unwrap_err()
                .contains("not a mail address")
        );
        assert!(lines[2].as_ref().unwrap_err().contains("not closed"));
        assert_eq!(lines[3].as_ref().unwrap().address, "carla@c.it");
    }

    #[test]
    fn a_master_login_needs_no_password() {
        let lines = parse("anna@c.it,anna\n", true);
        assert!(lines[0].as_ref().unwrap().password.is_none());
    }
}
