//! A TCP link between an app and a store server that a test can break: [`Link::pause`]
//! keeps every connection open and forwards nothing (a server that stopped answering),
//! [`Link::cut`] closes every connection and refuses new ones (a server that went away),
//! [`Link::restore`] forwards again. It works for any store a test cannot stop itself
//! (a PostgreSQL or Redis shared by the tests).

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Up,
    Paused,
    Cut,
}

/// A loopback port forwarding to `upstream`, until dropped.
pub struct Link {
    addr: SocketAddr,
    state: watch::Sender<State>,
    accept: tokio::task::JoinHandle<()>,
}

impl Link {
    /// Listens on a free loopback port and forwards each connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Link {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (state, _) = watch::channel(State::Up);
        let states = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *states.borrow() == State::Cut {
                    continue; // dropped: refused
                }
                let states = states.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::join!(
                        pump(client_read, server_write, states.subscribe()),
                        pump(server_read, client_write, states.subscribe()),
                    );
                });
            }
        });
        Link {
            addr,
            state,
            accept,
        }
    }

    /// The address to connect to instead of the upstream.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Forwards nothing, keeping the connections open.
    pub fn pause(&self) {
        self.state.send_replace(State::Paused);
    }

    /// Closes every connection and refuses new ones.
    pub fn cut(&self) {
        self.state.send_replace(State::Cut);
    }

    /// Forwards again (connections cut stay closed; new ones are accepted).
    pub fn restore(&self) {
        self.state.send_replace(State::Up);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.state.send_replace(State::Cut);
        self.accept.abort();
    }
}

/// Copies `from` to `to` while the link is up, waits while it is paused, and returns (closing
/// both) once it is cut or either side closes.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut state: watch::Receiver<State>) {
    let mut buf = vec![0; 16 * 1024];
    loop {
        let now = *state.borrow_and_update();
        match now {
            State::Cut => return,
            State::Paused => {
                if state.changed().await.is_err() {
                    return;
                }
                continue;
            }
            State::Up => {}
        }
        tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if to.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            },
            changed = state.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}
