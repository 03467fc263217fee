//! The seed's shared-value typecodes (the letters of Python's `array`
//! module) and the pp-ipc [`ValueKind`] each names: the facade's vocabulary,
//! kept out of the layers.

use pp_ipc::ValueKind;

/// Each typecode of the seed and the kind it names.
const TYPECODES: [(&str, ValueKind); 6] = [
    ("i", ValueKind::I32),
    ("l", ValueKind::I64),
    ("I", ValueKind::U32),
    ("L", ValueKind::U64),
    ("b", ValueKind::Bool),
    ("d", ValueKind::F64),
];

/// The kind a typecode names; `None` for one the seed does not define.
pub(crate) fn kind_of(typecode: &str) -> Option<ValueKind> {
    TYPECODES.iter().find(|(code, _)| *code == typecode).map(|(_, kind)| *kind)
}

/// The typecode naming `kind`; `None` for a kind the seed has no letter for.
pub(crate) fn typecode_of(kind: ValueKind) -> Option<&'static str> {
    TYPECODES.iter().find(|(_, k)| *k == kind).map(|(code, _)| *code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_typecode_and_back() {
        for kind in ValueKind::ALL {
            let code = typecode_of(kind).unwrap_or_else(|| panic!("no typecode for {kind}"));
            assert_eq!(kind_of(code), Some(kind));
        }
        assert_eq!(kind_of("d"), Some(ValueKind::F64));
        assert_eq!(kind_of("x"), None);
        assert_eq!(kind_of(""), None);
    }
}
