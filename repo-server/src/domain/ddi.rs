//! hawkBit DDI actions: one per change of the firmware in effect for a device, its status
//! history and the feedback the device sent. Pure rules; the service stores and serves them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{DomainError, PoolLink, Sha256Digest};

/// Most status entries kept per action; beyond it the oldest device feedback (never the
/// first entry, which says why the action exists) is dropped and counted.
pub const MAX_ACTION_EVENTS: usize = 200;
/// Most detail messages kept per feedback.
pub const MAX_FEEDBACK_DETAILS: usize = 32;
/// Longest detail message kept (longer ones are cut at a character boundary).
pub const MAX_DETAIL_LEN: usize = 1024;
/// Most attributes a device may store through `configData`.
pub const MAX_CONFIG_ENTRIES: usize = 64;
/// Polling interval sent to devices when neither the partner nor the collection sets one.
pub const DEFAULT_POLLING_SECS: u32 = 300;
/// Collection tag that overrides the partner's polling interval (`HH:MM:SS`).
pub const POLLING_TAG: &str = "ddi.pollingSleep";

/// The image an action installs, as it was when the action was created (a snapshot: the
/// artifact's name and digests stay what the device was told).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionImage {
    pub kind: ActionImageKind,
    /// The collection image or Afero firmware image id.
    pub id: u64,
    pub name: String,
    pub version: String,
    pub filename: String,
    pub sha256: Sha256Digest,
    pub blake3: String,
    pub length: u64,
    pub pool: Option<PoolLink>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionImageKind {
    Collection,
    DeviceType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionState {
    Scheduled,
    Proceeding,
    /// A cancel is requested (`cancelAction` offered); the device has not confirmed it.
    Canceling,
    Success,
    Failure,
    Canceled,
}

impl ActionState {
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ActionState::Scheduled | ActionState::Proceeding | ActionState::Canceling
        )
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ActionState::Scheduled => "scheduled",
            ActionState::Proceeding => "proceeding",
            ActionState::Canceling => "canceling",
            ActionState::Success => "success",
            ActionState::Failure => "failure",
            ActionState::Canceled => "canceled",
        }
    }
}

/// One entry of an action's history: a state change by the server, or a device feedback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionEvent {
    pub at_ms: u64,
    pub state: ActionState,
    /// `server`, or the feedback channel: `deployment` / `cancel`.
    pub source: String,
    /// The device's `execution` and `finished` values, as sent.
    pub execution: Option<String>,
    pub finished: Option<String>,
    pub code: Option<i64>,
    pub messages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRecord {
    pub id: u64,
    pub partner: String,
    pub collection: String,
    pub device: String,
    pub image: ActionImage,
    pub state: ActionState,
    /// The device refused a cancel: the action runs to its end and is not asked again.
    pub cancel_refused: bool,
    pub history: Vec<ActionEvent>,
    /// History entries dropped to stay within [`MAX_ACTION_EVENTS`].
    pub dropped_events: u64,
    pub created_ms: u64,
    pub updated_ms: u64,
}

impl ActionRecord {
    /// Appends an event, dropping the oldest device feedback beyond the cap.
    pub fn push_event(&mut self, event: ActionEvent) {
        self.updated_ms = self.updated_ms.max(event.at_ms);
        self.state = event.state;
        self.history.push(event);
        if self.history.len() > MAX_ACTION_EVENTS {
            self.history.remove(1);
            self.dropped_events += 1;
        }
    }

    fn server_event(&mut self, state: ActionState, now_ms: u64, message: String) {
        self.push_event(ActionEvent {
            at_ms: now_ms,
            state,
            source: "server".into(),
            execution: None,
            finished: None,
            code: None,
            messages: vec![message],
        });
    }
}

/// What a poll does about the device's open action, given the image now in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reconcile {
    /// Nothing to change.
    Keep,
    /// No open action and an image to install: create one.
    Create,
    /// The open action installs something no longer in effect: ask the device to cancel.
    RequestCancel,
}

/// Two snapshots name the same installation when they are the same image and bytes.
fn same_image(a: &ActionImage, b: &ActionImage) -> bool {
    a.kind == b.kind && a.id == b.id && a.sha256 == b.sha256
}

pub fn reconcile(open: Option<&ActionRecord>, desired: Option<&ActionImage>) -> Reconcile {
    match (open, desired) {
        (None, None) => Reconcile::Keep,
        (None, Some(_)) => Reconcile::Create,
        (Some(action), desired) => {
            let wanted = desired.is_some_and(|d| same_image(&action.image, d));
            if wanted || action.state == ActionState::Canceling || action.cancel_refused {
                Reconcile::Keep
            } else {
                Reconcile::RequestCancel
            }
        }
    }
}

/// A new action for `image`, scheduled, with the reason as its first message.
pub fn new_action(
    id: u64,
    device: &super::DeviceRecord,
    image: ActionImage,
    reason: &str,
    now_ms: u64,
) -> ActionRecord {
    let mut action = ActionRecord {
        id,
        partner: device.partner.clone(),
        collection: device.collection.clone(),
        device: device.id.clone(),
        image,
        state: ActionState::Scheduled,
        cancel_refused: false,
        history: Vec::new(),
        dropped_events: 0,
        created_ms: now_ms,
        updated_ms: now_ms,
    };
    action.server_event(
        ActionState::Scheduled,
        now_ms,
        format!("assigned: {reason}"),
    );
    action
}

/// Marks an open action as to be canceled.
pub fn request_cancel(action: &mut ActionRecord, now_ms: u64) {
    action.server_event(
        ActionState::Canceling,
        now_ms,
        "cancel requested: the firmware in effect for the device changed".into(),
    );
}

/// Closes an open action whose device is deleted.
pub fn close_for_deleted_device(action: &mut ActionRecord, now_ms: u64) {
    action.server_event(
        ActionState::Canceled,
        now_ms,
        "canceled: the device was deleted".into(),
    );
}

/// The `execution` values of DDI feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Execution {
    Closed,
    Proceeding,
    Canceled,
    Scheduled,
    Rejected,
    Resumed,
    Downloaded,
    Download,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Finished {
    Success,
    Failure,
    None,
}

/// A device's feedback, parsed.
#[derive(Debug, Clone)]
pub struct Feedback {
    pub execution: Execution,
    pub finished: Finished,
    pub code: Option<i64>,
    pub details: Vec<String>,
    pub device_time_ms: Option<u64>,
}

/// Which feedback channel a message came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Deployment,
    Cancel,
}

/// Why feedback cannot be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackRefused {
    /// The action is finished (hawkBit answers 410 Gone).
    Closed,
    /// Cancel feedback for an action no cancel was requested for.
    NoCancel,
}

fn wire_name<T: Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Applies feedback to an open action: hawkBit's rules — `closed` finishes (failure only when
/// the result says so), `canceled` cancels, anything else is progress; on the cancel channel
/// `closed`/`canceled` confirm the cancel and `rejected` refuses it.
pub fn apply_feedback(
    action: &mut ActionRecord,
    channel: Channel,
    feedback: Feedback,
    now_ms: u64,
) -> Result<(), FeedbackRefused> {
    if !action.state.is_open() {
        return Err(FeedbackRefused::Closed);
    }
    use Execution::*;
    let state = match channel {
        Channel::Deployment => match feedback.execution {
            Closed if feedback.finished == Finished::Failure => ActionState::Failure,
            Closed => ActionState::Success,
            Canceled => ActionState::Canceled,
            _ if action.state == ActionState::Canceling => ActionState::Canceling,
            _ => ActionState::Proceeding,
        },
        Channel::Cancel => {
            if action.state != ActionState::Canceling {
                return Err(FeedbackRefused::NoCancel);
            }
            match feedback.execution {
                Closed | Canceled if feedback.finished != Finished::Failure => {
                    ActionState::Canceled
                }
                Rejected | Closed | Canceled => {
                    action.cancel_refused = true;
                    ActionState::Proceeding
                }
                _ => ActionState::Canceling,
            }
        }
    };
    let mut messages: Vec<String> = feedback
        .details
        .into_iter()
        .take(MAX_FEEDBACK_DETAILS)
        .map(|m| truncate(m, MAX_DETAIL_LEN))
        .collect();
    if let Some(device_ms) = feedback.device_time_ms {
        messages.push(format!("device time {device_ms} ms"));
    }
    action.push_event(ActionEvent {
        at_ms: now_ms,
        state,
        source: match channel {
            Channel::Deployment => "deployment".into(),
            Channel::Cancel => "cancel".into(),
        },
        execution: Some(wire_name(feedback.execution)),
        finished: Some(wire_name(feedback.finished)),
        code: feedback.code,
        messages,
    });
    Ok(())
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// `HH:MM:SS` of a number of seconds (hours may exceed 99 as hawkBit's parser allows).
pub fn format_sleep(secs: u32) -> String {
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Parses `HH:MM:SS` into seconds (at least 1 s, at most 24 h).
pub fn parse_sleep(field: &'static str, text: &str) -> Result<u32, DomainError> {
    let invalid = || DomainError::field(field, "must be HH:MM:SS between 00:00:01 and 24:00:00");
    let parts: Vec<&str> = text.split(':').collect();
    let [h, m, s] = parts.as_slice() else {
        return Err(invalid());
    };
    let number = |p: &str, max: u32| -> Result<u32, DomainError> {
        if p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let n: u32 = p.parse().map_err(|_| invalid())?;
        (n <= max).then_some(n).ok_or_else(invalid)
    };
    let secs = number(h, 24)? * 3600 + number(m, 59)? * 60 + number(s, 59)?;
    if secs == 0 || secs > 24 * 3600 {
        return Err(invalid());
    }
    Ok(secs)
}

/// Checks a `configData` attribute map.
pub fn validate_config_data(data: &BTreeMap<String, String>) -> Result<(), DomainError> {
    if data.len() > MAX_CONFIG_ENTRIES {
        return Err(DomainError::field(
            "data",
            format!("at most {MAX_CONFIG_ENTRIES} attributes"),
        ));
    }
    super::validate_tag_map(data, true).map_err(|_| {
        DomainError::field(
            "data",
            "attribute names must be 1-100 bytes, values at most 1000, without control characters",
        )
    })
}

/// The artifact file name: the image's own file name, else one derived from name and version.
pub fn artifact_filename(filename: &str, name: &str, version: &str) -> String {
    if !filename.trim().is_empty() {
        return filename.to_string();
    }
    derived_filename(name, version)
}

/// `name-version.bin` with every character outside `[A-Za-z0-9._-]` replaced by `_`.
pub fn derived_filename(name: &str, version: &str) -> String {
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("{}-{}.bin", safe(name), safe(version))
}

/// A device's DDI credential (stored under the SHA-256 of the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetTokenRecord {
    pub partner: String,
    pub device: String,
    pub created_ms: u64,
}

/// A partner's gateway credential (stored under the SHA-256 of the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayTokenRecord {
    pub id: u64,
    pub partner: String,
    pub token_sha256: [u8; 32],
    pub created_ms: u64,
}

/// A partner's DDI settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DdiSettings {
    /// Polling interval in seconds; [`DEFAULT_POLLING_SECS`] when unset.
    pub polling_secs: Option<u32>,
    /// Collection that devices registered by a gateway token join (created on demand).
    pub default_collection: Option<String>,
}

/// What a device told us through DDI besides feedback.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DdiDeviceState {
    /// `configData` attributes.
    pub attributes: BTreeMap<String, String>,
    pub attributes_ms: Option<u64>,
    /// The last action that finished with success (`installedBase`).
    pub installed_action: Option<u64>,
    /// The last installation that failed: not retried until a target is set again.
    pub failed: Option<FailedInstall>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedInstall {
    pub image: ActionImage,
    pub at_ms: u64,
}

/// A failed image is offered again only once a target was set after the failure (else a
/// device that cannot install it would be sent it on every poll).
pub fn retry_blocked(state: &DdiDeviceState, desired: &ActionImage, retarget_ms: u64) -> bool {
    state
        .failed
        .as_ref()
        .is_some_and(|f| same_image(&f.image, desired) && f.at_ms >= retarget_ms)
}

/// SHA-1 and MD5 of a blob (lowercase hex), computed once for DDI clients that need them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyDigests {
    pub sha1: String,
    pub md5: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(id: u64) -> ActionImage {
        ActionImage {
            kind: ActionImageKind::Collection,
            id,
            name: "fw".into(),
            version: "1".into(),
            filename: "fw.swu".into(),
            sha256: Sha256Digest([id as u8; 32]),
            blake3: String::new(),
            length: 1,
            pool: None,
        }
    }

    fn device() -> crate::domain::DeviceRecord {
        crate::domain::DeviceRecord {
            id: "d".into(),
            partner: "p".into(),
            collection: "c".into(),
            device_type: None,
            versions: Default::default(),
            current: None,
            target: None,
            target_set_ms: 0,
            state: None,
            tags: Default::default(),
            last_checkin_ms: None,
            created_ms: 0,
            updated_ms: 0,
        }
    }

    fn feedback(execution: Execution, finished: Finished) -> Feedback {
        Feedback {
            execution,
            finished,
            code: None,
            details: vec!["x".into()],
            device_time_ms: None,
        }
    }

    #[test]
    fn reconcile_creates_keeps_and_cancels() {
        let action = new_action(1, &device(), image(1), "target", 0);
        assert_eq!(reconcile(None, Some(&image(1))), Reconcile::Create);
        assert_eq!(reconcile(None, None), Reconcile::Keep);
        assert_eq!(reconcile(Some(&action), Some(&image(1))), Reconcile::Keep);
        assert_eq!(
            reconcile(Some(&action), Some(&image(2))),
            Reconcile::RequestCancel
        );
        assert_eq!(reconcile(Some(&action), None), Reconcile::RequestCancel);
        let mut canceling = action.clone();
        request_cancel(&mut canceling, 1);
        assert_eq!(
            reconcile(Some(&canceling), Some(&image(2))),
            Reconcile::Keep
        );
    }

    #[test]
    fn feedback_follows_hawkbit_rules() {
        let mut action = new_action(1, &device(), image(1), "target", 0);
        apply_feedback(
            &mut action,
            Channel::Deployment,
            feedback(Execution::Proceeding, Finished::None),
            1,
        )
        .unwrap();
        assert_eq!(action.state, ActionState::Proceeding);
        assert_eq!(
            apply_feedback(
                &mut action,
                Channel::Cancel,
                feedback(Execution::Closed, Finished::Success),
                2
            ),
            Err(FeedbackRefused::NoCancel)
        );
        apply_feedback(
            &mut action,
            Channel::Deployment,
            feedback(Execution::Closed, Finished::None),
            3,
        )
        .unwrap();
        assert_eq!(action.state, ActionState::Success);
        assert_eq!(
            apply_feedback(
                &mut action,
                Channel::Deployment,
                feedback(Execution::Closed, Finished::Failure),
                4
            ),
            Err(FeedbackRefused::Closed)
        );

        let mut action = new_action(2, &device(), image(1), "target", 0);
        request_cancel(&mut action, 1);
        apply_feedback(
            &mut action,
            Channel::Cancel,
            feedback(Execution::Rejected, Finished::None),
            2,
        )
        .unwrap();
        assert!(action.cancel_refused);
        assert_eq!(action.state, ActionState::Proceeding);
        assert_eq!(reconcile(Some(&action), Some(&image(2))), Reconcile::Keep);
    }

    #[test]
    fn history_is_capped_keeping_the_first_entry() {
        let mut action = new_action(1, &device(), image(1), "why", 0);
        for i in 0..(MAX_ACTION_EVENTS as u64 + 10) {
            apply_feedback(
                &mut action,
                Channel::Deployment,
                feedback(Execution::Proceeding, Finished::None),
                i,
            )
            .unwrap();
        }
        assert_eq!(action.history.len(), MAX_ACTION_EVENTS);
        assert_eq!(action.dropped_events, 11);
        assert_eq!(
            action.history[0].messages,
            vec!["assigned: why".to_string()]
        );
    }

    #[test]
    fn sleep_round_trips() {
        assert_eq!(format_sleep(300), "00:05:00");
        assert_eq!(format_sleep(3661), "01:01:01");
        assert_eq!(parse_sleep("s", "00:05:00").unwrap(), 300);
        for bad in [
            "", "5", "00:00:00", "1:00:00", "00:60:00", "25:00:00", "aa:bb:cc",
        ] {
            assert!(parse_sleep("s", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filenames_are_kept_or_derived() {
        assert_eq!(artifact_filename("a.swu", "n", "1"), "a.swu");
        assert_eq!(artifact_filename("", "my fw", "1.0"), "my_fw-1.0.bin");
    }
}
