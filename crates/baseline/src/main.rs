//! `easel-baseline`: the bare broadcast server (see the library docs).
//! Prints `Baseline listening on ws://ADDR` once it accepts connections.

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "easel-baseline",
    about = "Bare WebSocket broadcast server (benchmark baseline)"
)]
struct Cli {
    /// Address to listen on (port 0: pick a free one).
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: std::net::SocketAddr,
    /// Worker threads (default: one per core, like Easel).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cli.threads {
        builder.worker_threads(n);
    }
    let runtime = builder.enable_all().build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(cli.listen).await?;
        #[allow(clippy::print_stdout)]
        {
            println!("Baseline listening on ws://{}", listener.local_addr()?);
        }
        easel_baseline::Baseline::new().run(listener).await?;
        Ok(())
    })
}
