//! `skypunch-agent`: pushes service states to a skypunchd (OverC's `overcli`).
//!
//! Its commands are not available in this version; it prints its usage.

use std::process::ExitCode;

const USAGE: &str = "\
usage: skypunch-agent -s URL -i NAME:KEY ping
       skypunch-agent -s URL -i NAME:KEY service-status PERIOD NAME STATE [INFO]
       skypunch-agent -s URL -i NAME:KEY alert [--service NAME] MESSAGE
       skypunch-agent [-s URL -i NAME:KEY] monitor CONFIG.ini

The agent's commands are not available in this version of skypunch.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "-V") {
        println!("skypunch-agent {}", skypunch::VERSION);
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    eprintln!("{USAGE}");
    ExitCode::from(2)
}
