//! `HttpFetcher` against a loopback server: a file, a 404, and an endless
//! body that must be cut off one byte past the cap.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread;

use tuf_client::{FetchError, Fetcher, HttpFetcher};

/// Serves `requests` connections: `/ok` (5 bytes), `/missing` (404),
/// `/forbidden` (403), `/error` (500), `/endless` (no length, bytes until
/// the client hangs up). Returns the base URL.
fn serve(requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
            }
            let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
            let _ = match path.as_str() {
                "/base/ok" => stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
                ),
                "/base/missing" => stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                ),
                "/base/forbidden" => stream.write_all(
                    b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                ),
                "/base/error" => stream.write_all(
                    b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                ),
                _ => {
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                    let chunk = [b'x'; 4096];
                    // Until the client stops reading and hangs up.
                    while stream.write_all(&chunk).is_ok() {}
                    Ok(())
                }
            };
        }
    });
    format!("http://{addr}/base")
}

#[test]
fn http_fetches_caps_and_maps_not_found() {
    let fetcher = HttpFetcher::new(&serve(5)).unwrap();
    assert_eq!(fetcher.fetch("ok", 5).unwrap(), b"hello");
    assert!(matches!(
        fetcher.fetch("missing", 5),
        Err(FetchError::NotFound(_))
    ));
    assert!(matches!(
        fetcher.fetch("forbidden", 5),
        Err(FetchError::NotFound(_))
    ));
    let err = fetcher.fetch("error", 5).unwrap_err();
    assert!(err.to_string().contains("HTTP status 500"), "{err}");
    let err = fetcher.fetch("endless", 1000).unwrap_err();
    assert!(
        matches!(err, FetchError::TooLong { max: 1000, .. }),
        "{err}"
    );
}

#[test]
fn a_closed_port_is_an_error_not_a_hang() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let fetcher = HttpFetcher::new(&format!("http://{addr}/")).unwrap();
    assert!(matches!(
        fetcher.fetch("x", 5),
        Err(FetchError::Other { .. })
    ));
}
