//! `postino admin`: the admin principals, provincial (every domain) and
//! comune (their own domains), and their API tokens (`token`).

use clap::Subcommand;
use postino_common::store::{Admin, AdminScope};

use super::print::{ListFormat, print_list};
use super::read_password;
use super::token::{self, TokenCommand};
use crate::ops::Ops;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Add an admin: provincial (--all-domains) or comune (--domain ...).
    Add {
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
        /// May manage every domain.
        #[arg(long, conflicts_with = "domain", required_unless_present = "domain")]
        all_domains: bool,
        /// May manage this domain (repeat for several).
        #[arg(long, value_name = "NAME")]
        domain: Vec<String>,
    },
    /// List admins with the domains they may manage.
    List(ListFormat),
    /// Set an admin's password; its open sessions end, its API tokens stay.
    Passwd {
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Remove an admin, with its API tokens and sessions.
    Remove { username: String },
    /// Manage API tokens, with which scripts act as an admin over the HTTP API.
    #[command(subcommand)]
    Token(TokenCommand),
}

pub async fn run(ops: &Ops, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Add {
            username,
            all_domains,
            domain,
            ..
        } => {
            let scope = if all_domains {
                AdminScope::AllDomains
            } else {
                AdminScope::Domains(domain)
            };
            let admin = ops.add_admin(&username, &read_password()?, scope).await?;
            println!(
                "added admin {} ({})",
                admin.username,
                scope_text(&admin.scope)
            );
        }
        AdminCommand::List(format) => {
            let admins = ops.admins().await?;
            print_list(&format, &admins, admin_table)?;
        }
        AdminCommand::Passwd { username, .. } => {
            ops.set_admin_password(&username, &read_password()?).await?;
            println!("password of admin {username} changed");
        }
        AdminCommand::Remove { username } => {
            let admin = ops.remove_admin(&username).await?;
            println!(
                "removed admin {} ({})",
                admin.username,
                scope_text(&admin.scope)
            );
        }
        AdminCommand::Token(command) => token::run(ops, command).await?,
    }
    Ok(())
}

fn scope_text(scope: &AdminScope) -> String {
    match scope {
        AdminScope::AllDomains => "all domains".to_string(),
        AdminScope::Domains(names) => names.join(", "),
    }
}

fn admin_table(admins: &[Admin]) {
    println!("{:<32} DOMAINS", "ADMIN");
    for a in admins {
        println!("{:<32} {}", a.username, scope_text(&a.scope));
    }
}
