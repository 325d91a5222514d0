//! What a long-running process (the server) keeps between requests so that a page for a
//! fleet of 100,000 hosts does not parse the inventory and read every host's latest
//! assessment each time: the parsed inventory, kept while the file is unchanged (its inode,
//! size and modification and change times), and each host's latest attempt, kept while the
//! store has no newer assessment (its [`store::Assessments::assessments_mark`]). Both checks
//! cost a `stat` and one indexed query, so an edit of the inventory or a new assessment by
//! any process, the CLI's too, shows on the next request.

use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex};

use model::Inventory;
use model::fleet::HostLatest;

/// What identifies one version of a file: a rewrite changes its size or times, an editor's
/// rename over it its inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileVersion {
    device: u64,
    inode: u64,
    size: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl FileVersion {
    pub(crate) fn of(metadata: &std::fs::Metadata) -> FileVersion {
        FileVersion {
            device: metadata.dev(),
            inode: metadata.ino(),
            size: metadata.size(),
            modified: (metadata.mtime(), metadata.mtime_nsec()),
            changed: (metadata.ctime(), metadata.ctime_nsec()),
        }
    }
}

/// The latest attempts were read at this store mark, for this inventory.
type LatestKey = (FileVersion, i64);

#[derive(Default)]
pub(crate) struct Cache {
    inventory: Mutex<Option<(FileVersion, Arc<Inventory>)>>,
    latest: Mutex<Option<(LatestKey, Arc<Vec<HostLatest>>)>>,
}

impl Cache {
    /// The inventory parsed from `path` when it was at `version`, else `parse`'s (kept).
    pub(crate) fn inventory<E>(
        &self,
        version: FileVersion,
        parse: impl FnOnce() -> Result<Inventory, E>,
    ) -> Result<Arc<Inventory>, E> {
        if let Some((cached, inventory)) = &*lock(&self.inventory)
            && *cached == version
        {
            return Ok(inventory.clone());
        }
        // Parsed outside the lock: two requests may both parse a new file; either result is it.
        let inventory = Arc::new(parse()?);
        *lock(&self.inventory) = Some((version, inventory.clone()));
        Ok(inventory)
    }

    pub(crate) fn latest(&self, key: LatestKey) -> Option<Arc<Vec<HostLatest>>> {
        lock(&self.latest).as_ref().filter(|(cached, _)| *cached == key).map(|(_, l)| l.clone())
    }

    pub(crate) fn keep_latest(&self, key: LatestKey, latest: Arc<Vec<HostLatest>>) {
        *lock(&self.latest) = Some((key, latest));
    }
}

/// A poisoned cache is only a cache: take what it holds.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
