//! Seed inputs: the files under `fuzz/seeds/<target>/`, and what the
//! repository already holds that a target can read (the client side of the
//! IMAP transcripts, the MIME test messages).

use std::fs;
use std::path::{Path, PathBuf};

/// The repository's root, where the shared seed sources live.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Every file in `dir`, sorted by name so that runs repeat; none if it does
/// not exist.
fn files(dir: &Path) -> Vec<Vec<u8>> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|path| fs::read(path).ok())
        .collect()
}

/// The hand-written seeds of one target.
pub fn own_seeds(target: &str) -> Vec<Vec<u8>> {
    files(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("seeds")
            .join(target),
    )
}

/// What the client sends in each IMAP transcript (`C:` lines, which hold
/// literal contents too), as one CRLF-separated byte stream per transcript.
pub fn imap_client_streams() -> Vec<Vec<u8>> {
    files(&repository().join("tests/transcripts/imap"))
        .into_iter()
        .map(|transcript| {
            let mut stream = Vec::new();
            for line in transcript.split(|&b| b == b'\n') {
                let Some(rest) = line.strip_prefix(b"C:") else {
                    continue;
                };
                stream.extend_from_slice(rest.strip_prefix(b" ").unwrap_or(rest));
                stream.extend_from_slice(b"\r\n");
            }
            stream
        })
        .filter(|stream| !stream.is_empty())
        .collect()
}

/// The same streams cut into single commands: the lines of each, with the
/// lines of a literal kept with the command that announced it.
pub fn imap_client_lines() -> Vec<Vec<u8>> {
    use postino_imap::proto::{Assembler, Event, Limits};
    let mut commands = Vec::new();
    for stream in imap_client_streams() {
        let mut assembler = Assembler::new(Limits::default());
        let mut rest = &stream[..];
        while !rest.is_empty() {
            let (used, event) = assembler.feed(rest);
            rest = &rest[used..];
            match event {
                Some(Event::Command(command)) => commands.push(command),
                Some(_) => {}
                None => break,
            }
        }
    }
    commands
}

/// The MIME test messages of `common`.
pub fn mime_messages() -> Vec<Vec<u8>> {
    files(&repository().join("common/src/mime/corpus"))
}
