//! The temp file an upload is written to, around the page cache (`O_DIRECT`): whole aligned
//! blocks go from one reused buffer straight to the device, so a large upload costs neither
//! a copy into the page cache nor the memory it would pin until written back. Only the last,
//! partial block goes through the page cache. Where the filesystem refuses direct I/O
//! (`EINVAL`, e.g. tmpfs on older kernels), the same blocks are written buffered and handed
//! to writeback as they go.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use aligned_vec::{AVec, ConstAlign};
use tempfile::NamedTempFile;

/// Alignment of buffer address, file offset and write length that direct I/O needs: the
/// largest logical block size in common use.
const BLOCK: usize = 4096;

/// Size of one write to the device. Larger writes keep a virtio or NVMe queue busy; more
/// would only hold more memory per upload.
pub(super) const WRITE_SIZE: usize = 2 << 20;

/// An upload's temp file and the buffer that gathers its next write.
pub(super) struct DirectFile {
    file: NamedTempFile,
    buffer: AVec<u8, ConstAlign<BLOCK>>,
    /// Bytes the buffer gathers before a write: a multiple of BLOCK.
    write_size: usize,
    direct: bool,
    written: u64,
}

impl DirectFile {
    /// Creates a temp file in `dir`. `length_hint` (the client's stated length) keeps the
    /// buffer of a small upload small.
    pub fn create_in(dir: &Path, length_hint: Option<u64>) -> io::Result<Self> {
        let (file, direct) = match tempfile::Builder::new().make_in(dir, open_direct) {
            Ok(file) => (file, true),
            Err(e) if refuses_direct_io(&e) => (NamedTempFile::new_in(dir)?, false),
            Err(e) => return Err(e),
        };
        let write_size = length_hint
            .map_or(WRITE_SIZE, |length| {
                usize::try_from(length)
                    .unwrap_or(WRITE_SIZE)
                    .min(WRITE_SIZE)
                    .next_multiple_of(BLOCK)
            })
            .max(BLOCK);
        Ok(DirectFile {
            file,
            buffer: AVec::with_capacity(BLOCK, write_size),
            write_size,
            direct,
            written: 0,
        })
    }

    /// Whether whole blocks bypass the page cache.
    #[cfg(test)]
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    /// Appends bytes; writes the buffer out each time it fills.
    pub fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let take = (self.write_size - self.buffer.len()).min(bytes.len());
            self.buffer.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buffer.len() == self.write_size {
                self.write_blocks(self.write_size)?;
                self.buffer.clear();
            }
        }
        Ok(())
    }

    /// Writes what remains (the partial block through the page cache) and makes the file
    /// durable. The file is still a temp file: the caller publishes it.
    pub fn finish(mut self) -> io::Result<NamedTempFile> {
        let whole = self.buffer.len() / BLOCK * BLOCK;
        if whole > 0 {
            self.write_blocks(whole)?;
        }
        if whole < self.buffer.len() {
            self.stop_direct_io()?;
            self.file.as_file().write_all(&self.buffer[whole..])?;
        }
        self.file.as_file().sync_all()?;
        Ok(self.file)
    }

    /// Writes the buffer's first `len` bytes (a multiple of BLOCK) at the end of the file.
    fn write_blocks(&mut self, len: usize) -> io::Result<()> {
        let file = self.file.as_file();
        match (&*file).write_all(&self.buffer[..len]) {
            Err(e) if self.direct && refuses_direct_io(&e) => {
                // Accepted at open, refused at write (some FUSE filesystems): a failed
                // direct write wrote nothing, so the same bytes go again, buffered.
                self.stop_direct_io()?;
                (&*self.file.as_file()).write_all(&self.buffer[..len])?;
            }
            result => result?,
        }
        if !self.direct {
            start_writeback(self.file.as_file(), self.written, len as u64);
        }
        self.written += len as u64;
        Ok(())
    }

    /// Sends the following writes through the page cache.
    fn stop_direct_io(&mut self) -> io::Result<()> {
        if self.direct {
            clear_direct_flag(self.file.as_file())?;
            self.direct = false;
        }
        Ok(())
    }
}

fn open_direct(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
}

fn refuses_direct_io(error: &io::Error) -> bool {
    error.raw_os_error() == Some(libc::EINVAL)
}

/// Turns `O_DIRECT` off for an open file (Linux allows it through `F_SETFL`).
fn clear_direct_flag(file: &File) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a file descriptor owned by `file` for the duration of the calls.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_DIRECT) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Asks the kernel to start writing a buffered range back now (Linux `sync_file_range`),
/// instead of leaving all of it to the final fsync. Advisory: errors surface at that fsync.
fn start_writeback(file: &File, offset: u64, len: u64) {
    // SAFETY: a plain syscall on a file descriptor we own for the duration of the call.
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as i64,
            len as i64,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    fn written_through(dir: &Path, hint: Option<u64>, chunks: &[&[u8]]) -> (Vec<u8>, bool) {
        let mut file = DirectFile::create_in(dir, hint).unwrap();
        let direct = file.is_direct();
        for chunk in chunks {
            file.write_all(chunk).unwrap();
        }
        let file = file.finish().unwrap();
        (std::fs::read(file.path()).unwrap(), direct)
    }

    #[test]
    fn every_byte_arrives_whatever_the_chunking() {
        let dir = tempfile::tempdir().unwrap();
        // Crosses several buffer fills and ends in a partial block.
        let bytes = pattern(2 * WRITE_SIZE + 3 * BLOCK + 17);
        let chunks: Vec<&[u8]> = bytes.chunks(65_537).collect();
        let (read, direct) = written_through(dir.path(), None, &chunks);
        assert!(read == bytes, "the file differs from the bytes written");
        // The data dirs the server uses are on a filesystem with direct I/O here (ext4);
        // a fallback there would mean the flag never took effect.
        assert!(direct, "{} refused O_DIRECT", dir.path().display());
    }

    #[test]
    fn small_and_block_sized_files_are_exact() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, WRITE_SIZE] {
            let bytes = pattern(len);
            let (read, _) = written_through(dir.path(), Some(len as u64), &[&bytes]);
            assert_eq!(read.len(), len);
            assert!(read == bytes, "a {len}-byte file differs");
        }
    }

    #[test]
    fn a_stated_length_bounds_the_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let small = DirectFile::create_in(dir.path(), Some(10)).unwrap();
        assert_eq!(small.write_size, BLOCK);
        let large = DirectFile::create_in(dir.path(), Some(1 << 40)).unwrap();
        assert_eq!(large.write_size, WRITE_SIZE);
        let unknown = DirectFile::create_in(dir.path(), None).unwrap();
        assert_eq!(unknown.write_size, WRITE_SIZE);
    }

    #[test]
    fn whole_blocks_skip_the_page_cache() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = DirectFile::create_in(dir.path(), None).unwrap();
        file.write_all(&pattern(WRITE_SIZE)).unwrap();
        let file = file.finish().unwrap();
        assert_eq!(resident_pages(file.as_file()), 0);
    }

    /// Pages of `file` in the page cache (`mincore` over a mapping of it).
    fn resident_pages(file: &File) -> usize {
        let len = file.metadata().unwrap().len() as usize;
        // SAFETY: a read-only shared mapping of a file we hold open, unmapped before return;
        // mincore writes one byte per page into a vector of that many bytes.
        unsafe {
            let map = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            );
            assert_ne!(map, libc::MAP_FAILED);
            let page = libc::sysconf(libc::_SC_PAGESIZE) as usize;
            let mut pages = vec![0u8; len.div_ceil(page)];
            assert_eq!(libc::mincore(map, len, pages.as_mut_ptr()), 0);
            libc::munmap(map, len);
            pages.iter().filter(|page| *page & 1 == 1).count()
        }
    }
}
