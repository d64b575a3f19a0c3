//! The card side of vsmartcard's vpcd protocol.
//!
//! The vpcd driver inside pcscd listens on TCP; the card connects. Every
//! message, both ways, is a 2-byte big-endian length and a payload. A
//! 1-byte payload from the driver is a control message: `00` power off,
//! `01` power on, `02` reset, `04` "send your ATR". Anything else is a
//! command APDU, answered with `data ‖ SW1 SW2`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::piv::Card;

/// The port of vpcd's first reader; the second is one above.
pub const DEFAULT_PORT: u16 = 35963;

/// The ATR of a YubiKey 5 (T=1).
pub const YUBIKEY5_ATR: [u8; 23] = [
    0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59,
    0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0x40,
];

/// Connects to vpcd at `addr`, retrying until `deadline` (pcscd may not
/// have opened its port yet) or until `stop` is set.
pub fn connect(addr: SocketAddr, deadline: Instant, stop: &AtomicBool) -> io::Result<TcpStream> {
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(e) if Instant::now() >= deadline || stop.load(Ordering::Relaxed) => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Serves `card` over `stream` until vpcd closes the connection or `stop`
/// is set (checked between messages, at least every 200 ms).
pub fn serve(card: &mut Card, mut stream: TcpStream, stop: Arc<AtomicBool>) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    loop {
        let mut len = [0u8; 2];
        match read_exact_or_stop(&mut stream, &mut len, &stop)? {
            Read_::Eof | Read_::Stopped => return Ok(()),
            Read_::Done => {}
        }
        let mut payload = vec![0u8; usize::from(u16::from_be_bytes(len))];
        match read_exact_or_stop(&mut stream, &mut payload, &stop)? {
            Read_::Eof | Read_::Stopped => return Ok(()),
            Read_::Done => {}
        }
        match payload[..] {
            [0x00] | [0x01] | [0x02] => card.reset(),
            [0x04] => send(&mut stream, &YUBIKEY5_ATR)?,
            [_] => {}
            _ => {
                let reply = zeroize::Zeroizing::new(card.transmit(&payload));
                send(&mut stream, &reply)?;
            }
        }
        zeroize::Zeroize::zeroize(&mut payload);
    }
}

fn send(stream: &mut TcpStream, payload: &[u8]) -> io::Result<()> {
    let len = u16::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "response too long"))?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend(len.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame)?;
    zeroize::Zeroize::zeroize(&mut frame);
    Ok(())
}

enum Read_ {
    Done,
    Eof,
    Stopped,
}

fn read_exact_or_stop(
    stream: &mut TcpStream,
    buf: &mut [u8],
    stop: &AtomicBool,
) -> io::Result<Read_> {
    let mut got = 0;
    while got < buf.len() {
        if stop.load(Ordering::Relaxed) {
            return Ok(Read_::Stopped);
        }
        match stream.read(&mut buf[got..]) {
            Ok(0) => return Ok(Read_::Eof),
            Ok(n) => got += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                ) =>
            {
                return Ok(Read_::Eof);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Read_::Done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::piv::Touch;
    use crate::state::CardState;
    use std::net::TcpListener;

    fn frame(stream: &mut TcpStream, payload: &[u8]) {
        let mut f = (payload.len() as u16).to_be_bytes().to_vec();
        f.extend_from_slice(payload);
        stream.write_all(&f).unwrap();
    }

    fn read_frame(stream: &mut TcpStream) -> Vec<u8> {
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).unwrap();
        let mut payload = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut payload).unwrap();
        payload
    }

    /// Plays the vpcd driver's side: power on, ATR, APDUs, reset, close.
    #[test]
    fn speaks_the_vpcd_framing() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let card_stop = stop.clone();
        let card = std::thread::spawn(move || {
            let mut card = Card::new(CardState::new(42, [5, 7, 1]), Touch::Auto, None);
            let stream =
                connect(addr, Instant::now() + Duration::from_secs(5), &card_stop).unwrap();
            serve(&mut card, stream, card_stop).unwrap();
        });
        let (mut driver, _) = listener.accept().unwrap();
        frame(&mut driver, &[0x01]);
        frame(&mut driver, &[0x04]);
        assert_eq!(read_frame(&mut driver), YUBIKEY5_ATR);
        frame(
            &mut driver,
            &[0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08],
        );
        assert_eq!(read_frame(&mut driver)[19..], [0x90, 0x00]);
        frame(&mut driver, &[0x00, 0xF8, 0x00, 0x00, 0x00]);
        assert_eq!(read_frame(&mut driver), [0, 0, 0, 42, 0x90, 0x00]);
        frame(&mut driver, &[0x02]);
        frame(&mut driver, &[0x00, 0xFD, 0x00, 0x00]);
        assert_eq!(read_frame(&mut driver), [5, 7, 1, 0x90, 0x00]);
        drop(driver);
        card.join().unwrap();
        assert!(!stop.load(Ordering::Relaxed));
    }
}
