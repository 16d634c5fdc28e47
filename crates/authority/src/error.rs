//! The authority's one error type: a kind each front door maps to its own status codes, and a
//! message that is safe to show. Internal details are logged, never returned.

/// What kind of failure: each door maps it to its own status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input could not be read (bad JSON field, PEM, DER, CSR signature...).
    Malformed,
    /// The input was understood but a rule forbids it (role policy, limits).
    Policy,
    /// No valid credentials.
    Unauthorized,
    /// The caller may not do this.
    Forbidden,
    /// No such thing (or not visible to the caller).
    NotFound,
    /// It exists already, or changed meanwhile.
    Conflict,
    /// A server fault (logged, never detailed).
    Internal,
    /// The database cannot be reached or cannot take the work just now; the same request may
    /// succeed later (doors answer 503 with Retry-After). Logged, never detailed.
    Unavailable,
}

/// The authority's one error type.
#[derive(Debug, Clone)]
pub struct Error {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// What went wrong, safe to show.
    pub message: String,
    /// A structured account of the error, for front doors whose documents define one.
    pub detail: Option<ErrorDetail>,
}

/// A structured account of a refusal: a machine-readable code, and the field and value it
/// concerns when there is one. Each door renders it in its own shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorDetail {
    /// A machine-readable code.
    pub code: &'static str,
    /// The field it concerns.
    pub field: Option<&'static str>,
    /// The value it concerns.
    pub value: Option<DetailValue>,
    /// The door shows the error's message beside the code.
    pub with_message: bool,
}

/// The value a refusal concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DetailValue {
    /// A number.
    Number(i64),
    /// Text.
    Text(String),
}

impl From<i64> for DetailValue {
    fn from(n: i64) -> Self {
        DetailValue::Number(n)
    }
}

impl From<&str> for DetailValue {
    fn from(s: &str) -> Self {
        DetailValue::Text(s.to_owned())
    }
}

impl From<String> for DetailValue {
    fn from(s: String) -> Self {
        DetailValue::Text(s)
    }
}

impl std::fmt::Display for DetailValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DetailValue::Number(n) => write!(f, "{n}"),
            DetailValue::Text(t) => write!(f, "{t:?}"),
        }
    }
}

impl ErrorDetail {
    /// Just a code.
    pub fn code(code: &'static str) -> Self {
        ErrorDetail { code, field: None, value: None, with_message: false }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {}

/// An authority result.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), detail: None }
    }
    /// Adds a structured detail.
    pub fn with_detail(mut self, detail: ErrorDetail) -> Self {
        self.detail = Some(detail);
        self
    }
    /// A Malformed error.
    pub fn malformed(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Malformed, m)
    }
    /// A Policy error.
    pub fn policy(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Policy, m)
    }
    /// An Unauthorized error.
    pub fn unauthorized(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, m)
    }
    /// A Forbidden error.
    pub fn forbidden(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, m)
    }
    /// A NotFound error.
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, m)
    }
    /// A Conflict error.
    pub fn conflict(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, m)
    }
    /// Logs the cause and returns a generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(ErrorKind::Internal, "internal error")
    }
    /// Logs the cause and returns a generic message that says to retry.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "database unavailable");
        Self::new(ErrorKind::Unavailable, UNAVAILABLE)
    }
}

/// What a caller is told when the database cannot take its request just now.
const UNAVAILABLE: &str = "the database is unavailable; retry shortly";

impl From<certus_store::Error> for Error {
    fn from(e: certus_store::Error) -> Self {
        match e {
            certus_store::Error::NotFound => Error::not_found("not found"),
            certus_store::Error::Conflict(what) => Error::conflict(format!("{what} already exists")),
            certus_store::Error::Unstorable(why) => Error::malformed(why),
            certus_store::Error::Changed(why) => Error::conflict(why),
            other if other.is_unavailable() => Error::unavailable(other),
            other => Error::internal(other),
        }
    }
}

impl From<certus_x509::Error> for Error {
    fn from(e: certus_x509::Error) -> Self {
        match e {
            certus_x509::Error::Encoding(_) => Error::internal(e),
            // A rule of the profile refuses what was asked for: the caller's to change.
            certus_x509::Error::Lint(_) => Error::policy(e.to_string()),
            other => Error::malformed(other.to_string()),
        }
    }
}

impl From<certus_kms::Error> for Error {
    fn from(e: certus_kms::Error) -> Self {
        match e {
            certus_kms::Error::Unsupported(_) | certus_kms::Error::MalformedKey(_) => Error::malformed(e.to_string()),
            other => Error::internal(other),
        }
    }
}

/// Attaches a resource name to a store NotFound.
pub(crate) trait NotFoundAs<T> {
    fn not_found_as(self, what: &str) -> Result<T>;
}

impl<T> NotFoundAs<T> for std::result::Result<T, certus_store::Error> {
    fn not_found_as(self, what: &str) -> Result<T> {
        self.map_err(|e| match e {
            certus_store::Error::NotFound => Error::not_found(format!("{what} not found")),
            other => other.into(),
        })
    }
}
