//! `postino relay`: the relay clients, agency systems that send mail
//! through Postino, recognised by their source networks or by a password.

use clap::{ArgGroup, Subcommand};
use postino_common::store::RelayClient;

use super::print::{ListFormat, print_list};
use super::read_password;
use crate::ops::{Ops, RelayChange};

#[derive(Debug, Subcommand)]
pub enum RelayCommand {
    /// Add a relay client, recognised by its source networks or by a
    /// password (SMTP AUTH with NAME as the user name).
    Add {
        /// Letters, digits, '.', '_' or '-'.
        name: String,
        /// A source network, such as 10.1.0.0/16 (repeat for several);
        /// give networks or --password-stdin.
        #[arg(long, value_name = "CIDR")]
        cidr: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// A hosted domain it may send from (repeat for several; at least one).
        #[arg(long, value_name = "DOMAIN")]
        sender_domain: Vec<String>,
        /// Most messages a minute, such as 30/min (default: no limit).
        #[arg(long, value_name = "N/min", value_parser = parse_rate)]
        rate: Option<u64>,
    },
    /// List relay clients.
    List(ListFormat),
    /// Change a relay client's networks, sender domains or rate, or reset
    /// the password of one that logs in. Each option given replaces the
    /// current value; a client keeps the way it is recognised.
    #[command(group(ArgGroup::new("change").required(true).multiple(true)))]
    Update {
        name: String,
        /// A source network, such as 10.1.0.0/16 (repeat for several); the
        /// given ones replace the current ones.
        #[arg(long, value_name = "CIDR", group = "change")]
        cidr: Vec<String>,
        /// Read a new password from the first line of standard input.
        #[arg(long, group = "change")]
        password_stdin: bool,
        /// A hosted domain it may send from (repeat for several); the given
        /// ones replace the current ones.
        #[arg(long, value_name = "DOMAIN", group = "change")]
        sender_domain: Vec<String>,
        /// Most messages a minute, such as 30/min.
        #[arg(long, value_name = "N/min", value_parser = parse_rate, group = "change")]
        rate: Option<u64>,
        /// Lift the rate limit.
        #[arg(long, group = "change", conflicts_with = "rate")]
        no_rate_limit: bool,
    },
    /// Remove a relay client.
    Remove { name: String },
}

pub async fn run(ops: &Ops, command: RelayCommand) -> anyhow::Result<()> {
    match command {
        RelayCommand::Add {
            name,
            cidr,
            password_stdin,
            sender_domain,
            rate,
        } => {
            let password = password_stdin.then(read_password).transpose()?;
            let client = ops
                .add_relay_client(
                    &name,
                    &cidr,
                    password.as_ref(),
                    &sender_domain,
                    rate.unwrap_or(0),
                )
                .await?;
            println!(
                "added relay client {} ({}), sending from {}",
                client.name,
                relay_recognised_by(&client),
                client.sender_domains.join(", ")
            );
        }
        RelayCommand::List(format) => {
            let clients = ops.relay_clients().await?;
            print_list(&format, &clients, relay_table)?;
        }
        RelayCommand::Update {
            name,
            cidr,
            password_stdin,
            sender_domain,
            rate,
            no_rate_limit,
        } => {
            let change = RelayChange {
                networks: (!cidr.is_empty()).then_some(cidr),
                password: password_stdin.then(read_password).transpose()?,
                sender_domains: (!sender_domain.is_empty()).then_some(sender_domain),
                rate_per_minute: if no_rate_limit { Some(0) } else { rate },
            };
            let client = ops.update_relay_client(&name, &change).await?;
            let rate = match client.rate_per_minute {
                0 => "no limit".to_string(),
                n => format!("{n}/min"),
            };
            println!(
                "relay client {} ({}{}), sending from {}, rate {rate}",
                client.name,
                relay_recognised_by(&client),
                if change.password.is_some() {
                    ", password reset"
                } else {
                    ""
                },
                client.sender_domains.join(", ")
            );
        }
        RelayCommand::Remove { name } => {
            let client = ops.remove_relay_client(&name).await?;
            println!("removed relay client {}", client.name);
        }
    }
    Ok(())
}

/// A rate as `N/min` or plain `N`, in messages a minute.
fn parse_rate(text: &str) -> Result<u64, String> {
    let number = text.strip_suffix("/min").unwrap_or(text);
    match number.trim().parse::<u64>() {
        Ok(rate) if rate > 0 => Ok(rate),
        _ => Err(format!(
            "`{text}` is not a rate such as 30/min (a whole number of messages a minute, at least 1)"
        )),
    }
}

fn relay_recognised_by(client: &RelayClient) -> String {
    if client.password {
        "by password".to_string()
    } else {
        format!("from {}", client.networks.join(", "))
    }
}

fn relay_table(clients: &[RelayClient]) {
    println!(
        "{:<24} {:<40} {:>8}  SENDER DOMAINS",
        "RELAY CLIENT", "RECOGNISED", "RATE"
    );
    for c in clients {
        let rate = if c.rate_per_minute == 0 {
            "-".to_string()
        } else {
            format!("{}/min", c.rate_per_minute)
        };
        println!(
            "{:<24} {:<40} {:>8}  {}",
            c.name,
            relay_recognised_by(c),
            rate,
            c.sender_domains.join(", ")
        );
    }
}
