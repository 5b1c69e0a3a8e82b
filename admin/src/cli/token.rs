//! `postino admin token`: the API tokens with which scripts act as an
//! admin over the HTTP API. Tokens are made here only.

use clap::Subcommand;
use postino_common::store::ApiToken;

use super::print::{ListFormat, print_list};
use crate::ops::{self, Ops};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token acting as USER; it is printed once, alone on
    /// standard output, and cannot be shown again.
    Create {
        user: String,
        /// What the token is for, such as the script that uses it.
        #[arg(long, default_value = "api")]
        name: String,
    },
    /// List tokens, all or one admin's, revoked ones included.
    List {
        user: Option<String>,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Revoke a token: it stops working at once.
    Revoke {
        /// The token's id, as `admin token list` shows it.
        id: i64,
    },
}

pub async fn run(ops: &Ops, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { user, name } => {
            let (token, secret) = ops.create_api_token(&user, &name).await?;
            // Alone on standard output, so that a script can capture it.
            println!("{}", secret.expose());
            eprintln!(
                "created API token {} ({}) acting as {}: it is shown only this once, keep it safe",
                token.id, token.name, token.admin
            );
        }
        TokenCommand::List { user, format } => {
            let tokens = ops.api_tokens(user.as_deref()).await?;
            print_list(&format, &tokens, token_table)?;
        }
        TokenCommand::Revoke { id } => {
            let token = ops.revoke_api_token(id).await?;
            println!(
                "revoked API token {} ({}) of {}",
                token.id, token.name, token.admin
            );
        }
    }
    Ok(())
}

fn token_table(tokens: &[ApiToken]) {
    println!(
        "{:>6} {:<24} {:<24} {:<20} {:<20} REVOKED",
        "ID", "ADMIN", "NAME", "CREATED", "LAST USED"
    );
    let time = |at: Option<i64>| at.map_or_else(|| "-".to_string(), ops::utc);
    for t in tokens {
        println!(
            "{:>6} {:<24} {:<24} {:<20} {:<20} {}",
            t.id,
            t.admin,
            t.name,
            ops::utc(t.created_at),
            time(t.last_used_at),
            time(t.revoked_at)
        );
    }
}
