//! Orb sources (minimal seam).
/// Finds orbs.
pub trait OrbSource {}
/// No orbs.
pub struct NoOrbs;
impl OrbSource for NoOrbs {}
