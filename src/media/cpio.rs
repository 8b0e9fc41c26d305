//! `--initrd-inject`: files appended to an initrd as one more `newc` cpio
//! archive, owned by root, as virt-install's `cpio --format=newc
//! --owner=0:0` makes it.
//!
//! The kernel unpacks an initramfs made of several archives one after the
//! other, compressed or not, skipping zero bytes between them; an
//! uncompressed archive only has to start on a 4-byte boundary. So the
//! initrd is padded with zeros to that boundary and the archive written
//! plainly after it.

use std::io::Write;

/// One file for the archive: its name at the root and its bytes.
pub struct Member<'a> {
    /// The name, without any folder.
    pub name: &'a str,
    /// The contents.
    pub data: &'a [u8],
}

/// The zeros that bring `length` to a multiple of four.
pub fn padding(length: u64) -> usize {
    ((4 - length % 4) % 4) as usize
}

/// Writes a whole archive: the members, then the trailer.
pub fn write_archive(out: &mut dyn Write, members: &[Member]) -> std::io::Result<()> {
    for (index, member) in members.iter().enumerate() {
        // Regular file, 0644.
        let inode = index as u32 + 1;
        write_entry(out, member.name, 0o100_644, inode, member.data)?;
    }
    write_entry(out, "TRAILER!!!", 0, 0, &[])
}

fn write_entry(
    out: &mut dyn Write,
    name: &str,
    mode: u32,
    inode: u32,
    data: &[u8],
) -> std::io::Result<()> {
    let name_size = name.len() + 1;
    let nlink = u32::from(mode != 0);
    let fields = [
        inode,
        mode,
        0, // uid
        0, // gid
        nlink,
        0, // mtime
        data.len() as u32,
        0, // devmajor
        0, // devminor
        0, // rdevmajor
        0, // rdevminor
        name_size as u32,
        0, // check
    ];
    let mut header = String::from("070701");
    for field in fields {
        header.push_str(&format!("{field:08x}"));
    }
    out.write_all(header.as_bytes())?;
    out.write_all(name.as_bytes())?;
    out.write_all(&[0])?;
    let zeros = [0u8; 4];
    out.write_all(&zeros[..padding((header.len() + name_size) as u64)])?;
    out.write_all(data)?;
    out.write_all(&zeros[..padding(data.len() as u64)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newc_layout() {
        let mut out = Vec::new();
        let members = [Member {
            name: "ks.cfg",
            data: b"hello\n",
        }];
        write_archive(&mut out, &members).expect("written");
        assert!(out.starts_with(b"070701"));
        assert_eq!(out.len() % 4, 0);
        // Header, name and its padding, then the data.
        assert_eq!(&out[110..117], b"ks.cfg\0");
        assert_eq!(&out[120..126], b"hello\n");
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("TRAILER!!!"));
        // uid and gid are zero.
        assert_eq!(&out[22..38], b"0000000000000000");
    }

    #[test]
    fn padding_to_four() {
        let cases = [(0, 0), (1, 3), (2, 2), (3, 1), (4, 0), (7, 1)];
        for (length, want) in cases {
            assert_eq!(padding(length), want, "{length}");
        }
    }

    #[test]
    fn cpio_reads_it_back() {
        let Ok(cpio) = which::which("cpio") else {
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let mut out = Vec::new();
        let members = [Member {
            name: "a.txt",
            data: b"abc",
        }];
        write_archive(&mut out, &members).expect("written");
        let mut child = std::process::Command::new(cpio)
            .args(["-i", "--quiet"])
            .current_dir(dir.path())
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("cpio runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&out)
            .expect("fed");
        assert!(child.wait().expect("waited").success());
        assert_eq!(
            std::fs::read(dir.path().join("a.txt")).expect("extracted"),
            b"abc"
        );
    }
}
