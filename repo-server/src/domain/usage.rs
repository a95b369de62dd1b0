//! What uses a pool record or a collection image (and so forbids deleting it): a bounded
//! list of the uses found and their total, the body of a 409 `in-use`.

/// Most uses an in-use report names; the total counts them all.
pub const USES_SHOWN: usize = 100;

/// A kind of reference that keeps a record from being deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UseKind {
    /// A device's own target (`targetFirmwareId`) is the image.
    DeviceTarget,
    /// A collection's target is the image.
    CollectionTarget,
    /// A device runs it (`currentFirmwareId`, or its versions report the record).
    DeviceCurrent,
    /// The record is associated with a device type (an Afero firmware image).
    DeviceTypeAssociation,
    /// An Afero push names one of the record's device-type images.
    Push,
    /// A hawkBit DDI action not yet finished installs it.
    DdiAction,
    /// A Span collection image was made from the record.
    CollectionImage,
}

impl UseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UseKind::DeviceTarget => "device-target",
            UseKind::CollectionTarget => "collection-target",
            UseKind::DeviceCurrent => "device-current",
            UseKind::DeviceTypeAssociation => "device-type-association",
            UseKind::Push => "push",
            UseKind::DdiAction => "ddi-action",
            UseKind::CollectionImage => "collection-image",
        }
    }
}

/// One use: its kind, the id of what uses the record (device, collection, image or action
/// id) and, where that id is scoped, the collection or device type it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecordUse {
    pub kind: UseKind,
    pub id: String,
    pub scope: Option<String>,
}

impl RecordUse {
    /// The use in words.
    pub fn describe(&self) -> String {
        let (id, scope) = (&self.id, self.scope.as_deref().unwrap_or("?"));
        match self.kind {
            UseKind::DeviceTarget => format!("device {id} targets it"),
            UseKind::CollectionTarget => format!("collection {id} targets it"),
            UseKind::DeviceCurrent => format!("device {id} runs it"),
            UseKind::DeviceTypeAssociation => {
                format!("device type {scope} has it as firmware image {id}")
            }
            UseKind::Push => format!("a push to device {id} names it"),
            UseKind::DdiAction => format!("DDI action {id} of device {scope} installs it"),
            UseKind::CollectionImage => format!("collection {scope} has image {id} made from it"),
        }
    }

    pub fn new(kind: UseKind, id: impl ToString, scope: Option<&str>) -> Self {
        RecordUse {
            kind,
            id: id.to_string(),
            scope: scope.map(str::to_string),
        }
    }
}

/// The uses of one record: at most [`USES_SHOWN`] named, all counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InUse {
    pub uses: Vec<RecordUse>,
    pub total: u64,
}

impl InUse {
    pub fn add(&mut self, found: RecordUse) {
        self.total += 1;
        if self.uses.len() < USES_SHOWN {
            self.uses.push(found);
        }
    }

    pub fn is_used(&self) -> bool {
        self.total > 0
    }

    /// One line for a human: the first use and how many there are.
    pub fn summary(&self, what: &str) -> String {
        match self.uses.first() {
            Some(first) => format!(
                "{what} is in use: {} ({} use{} in all); remove those uses first",
                first.describe(),
                self.total,
                if self.total == 1 { "" } else { "s" },
            ),
            None => format!("{what} is not in use"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_bounded_but_count_everything() {
        let mut report = InUse::default();
        for device in 0..(USES_SHOWN + 5) {
            report.add(RecordUse::new(UseKind::DeviceCurrent, device, Some("c")));
        }
        assert_eq!(report.uses.len(), USES_SHOWN);
        assert_eq!(report.total, USES_SHOWN as u64 + 5);
        assert_eq!(
            report.summary("record 7"),
            "record 7 is in use: device 0 runs it (105 uses in all); remove those uses first"
        );
    }
}
