//! Small receivers written for the tests, speaking the real protocols on 127.0.0.1:0: an HTTP
//! server that records each request and answers with a chosen status, and an SMTP server that
//! records each message and can refuse chosen recipients or every login. Each serves until
//! dropped.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One request an HTTP receiver got.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub content_type: Option<String>,
    /// Every header, its name in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

pub struct HttpReceiver {
    pub url: String,
    pub requests: Arc<Mutex<Vec<HttpRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HttpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HttpReceiver {
    /// Answers every request with `status` (and a short body saying so).
    pub async fn start(status: u16) -> HttpReceiver {
        HttpReceiver::start_answering(&[status]).await
    }

    /// Answers the first request with `statuses[0]`, the second with `statuses[1]`, and every
    /// later one with the last.
    pub async fn start_answering(statuses: &[u16]) -> HttpReceiver {
        let statuses: Arc<Vec<u16>> = Arc::new(statuses.to_vec());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/patching", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let seen = seen.clone();
                let statuses = statuses.clone();
                tokio::spawn(async move {
                    let mut reader = BufReader::new(stream);
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let mut parts = line.split_whitespace();
                    let method = parts.next().unwrap_or_default().to_owned();
                    let path = parts.next().unwrap_or_default().to_owned();
                    let (mut length, mut content_type) = (0usize, None);
                    let mut headers = Vec::new();
                    loop {
                        let mut header = String::new();
                        reader.read_line(&mut header).await.unwrap();
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        let (name, value) = header.split_once(':').unwrap();
                        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
                        match name.to_ascii_lowercase().as_str() {
                            "content-length" => length = value.trim().parse().unwrap(),
                            "content-type" => content_type = Some(value.trim().to_owned()),
                            _ => {}
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).await.unwrap();
                    let status = {
                        let mut seen = seen.lock().unwrap();
                        let status = statuses[seen.len().min(statuses.len() - 1)];
                        seen.push(HttpRequest {
                            method,
                            path: path.clone(),
                            content_type,
                            headers,
                            body,
                        });
                        status
                    };
                    // The path is quoted back, as some receivers' error pages do.
                    let text = format!("status {status} on purpose for {path}");
                    let response = format!(
                        "HTTP/1.1 {status} Whatever\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                        text.len()
                    );
                    let _ = reader.get_mut().write_all(response.as_bytes()).await;
                });
            }
        });
        HttpReceiver { url, requests, task }
    }
}

/// One message an SMTP receiver accepted.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

pub struct SmtpReceiver {
    pub port: u16,
    pub mails: Arc<Mutex<Vec<Mail>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpReceiver {
    /// Accepts every recipient but those in `refuse`, which get `550 no such user`.
    pub async fn start(refuse: &[&str]) -> SmtpReceiver {
        SmtpReceiver::serve(refuse, false).await
    }

    /// Offers AUTH PLAIN and LOGIN and refuses every login with `535`, quoting the command it
    /// got back (the credentials, base64-encoded), as a careless relay might.
    pub async fn start_refusing_logins() -> SmtpReceiver {
        SmtpReceiver::serve(&[], true).await
    }

    async fn serve(refuse: &[&str], offer_auth: bool) -> SmtpReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let seen = mails.clone();
        let refuse: Vec<String> = refuse.iter().map(|r| r.to_string()).collect();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (seen, refuse) = (seen.clone(), refuse.clone());
                tokio::spawn(async move {
                    let mut stream = BufReader::new(stream);
                    let reply = |text: &str| format!("{text}\r\n");
                    let _ =
                        stream.get_mut().write_all(reply("220 test.local ESMTP").as_bytes()).await;
                    let mut mail = Mail { from: String::new(), to: vec![], data: String::new() };
                    loop {
                        let mut line = String::new();
                        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let command = line.trim_end().to_owned();
                        let upper = command.to_ascii_uppercase();
                        let answer = if upper.starts_with("EHLO") && offer_auth {
                            "250-test.local\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME".to_owned()
                        } else if upper.starts_with("EHLO") {
                            "250-test.local\r\n250 8BITMIME".to_owned()
                        } else if upper.starts_with("AUTH") {
                            format!("535 5.7.8 credentials refused: {command}")
                        } else if upper.starts_with("HELO") {
                            "250 test.local".to_owned()
                        } else if upper.starts_with("MAIL FROM:") {
                            mail.from = address(&command);
                            "250 ok".to_owned()
                        } else if upper.starts_with("RCPT TO:") {
                            let to = address(&command);
                            if refuse.contains(&to) {
                                "550 no such user".to_owned()
                            } else {
                                mail.to.push(to);
                                "250 ok".to_owned()
                            }
                        } else if upper == "DATA" {
                            stream
                                .get_mut()
                                .write_all(reply("354 go on").as_bytes())
                                .await
                                .unwrap();
                            let mut data = String::new();
                            loop {
                                let mut line = String::new();
                                stream.read_line(&mut line).await.unwrap();
                                if line == ".\r\n" {
                                    break;
                                }
                                data.push_str(&line);
                            }
                            mail.data = data;
                            seen.lock().unwrap().push(mail.clone());
                            "250 queued".to_owned()
                        } else if upper == "QUIT" {
                            let _ = stream.get_mut().write_all(reply("221 bye").as_bytes()).await;
                            return;
                        } else if upper == "RSET" || upper == "NOOP" {
                            "250 ok".to_owned()
                        } else {
                            "502 not implemented".to_owned()
                        };
                        if stream.get_mut().write_all(reply(&answer).as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        SmtpReceiver { port, mails, task }
    }
}

/// `MAIL FROM:<a@b> SIZE=…` → `a@b`.
fn address(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command.find('>').unwrap_or(command.len());
    command[start..end].to_owned()
}
