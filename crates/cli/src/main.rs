//! `vkv`: the vectorkv command line. A thin front end over the library crates: parse flags,
//! resolve the home directory, draw progress, print one clear error line on failure.

mod args;
mod cmd;
mod home;
mod progress;

use clap::Parser;

fn main() {
    let cli = args::Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: args::Cli) -> anyhow::Result<()> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(t) = cli.threads {
        pool = pool.num_threads(t);
    }
    pool.build_global()?;
    // Run the command on a pool worker: every parallel region of the forward pass then starts
    // and joins from inside the pool (spin latches), instead of the main thread injecting each
    // one and sleeping on a futex until it ends (measured: ~10% of a decode step).
    // (`rayon::scope` called from outside the pool runs its body on a worker and blocks here.)
    rayon::scope(|_| dispatch(cli))
}

fn dispatch(cli: args::Cli) -> anyhow::Result<()> {
    let home = home::resolve(cli.home)?;
    match cli.command {
        args::Command::Pull(a) => cmd::pull::run(&home, a),
        args::Command::Generate(a) => cmd::generate::run(&home, a),
        args::Command::Chat(a) => cmd::chat::run(&home, a),
        args::Command::Bench(a) => cmd::bench::run(&home, a),
        args::Command::Data(a) => cmd::data::run(&home, a),
        args::Command::Eval(a) => cmd::eval::run(&home, a),
    }
}
