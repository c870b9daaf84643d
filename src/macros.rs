//! `string_enum!`: an enum over WorkOS's string values that keeps unknown values instead of
//! failing to parse them.

macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $value:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this version of the crate does not know yet.
            Unknown(String),
        }

        impl $name {
            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $value,)*
                    $name::Unknown(other) => other,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $($value => $name::$variant,)*
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Ok(Self::from(value.as_ref()))
            }
        }
    };
}

/// Pagination setters (`limit`, `before`, `after`, `order`) for a list-params struct with a
/// `page: PageParams` field.
macro_rules! page_setters {
    ($name:ident) => {
        impl $name {
            /// Page size, 1–100 (WorkOS's default is 10).
            pub fn limit(mut self, limit: u32) -> Self {
                self.page.limit = Some(limit);
                self
            }

            /// Returns records before this object id.
            pub fn before(mut self, id: impl Into<String>) -> Self {
                self.page.before = Some(id.into());
                self
            }

            /// Returns records after this object id.
            pub fn after(mut self, id: impl Into<String>) -> Self {
                self.page.after = Some(id.into());
                self
            }

            /// Sort order by creation time.
            pub fn order(mut self, order: $crate::user_management::Order) -> Self {
                self.page.order = Some(order);
                self
            }
        }
    };
}

/// An optional-field setter: `fn name(mut self, value: impl Into<T>) -> Self`.
macro_rules! setters {
    ($name:ident { $($(#[$meta:meta])* $field:ident : $ty:ty,)* }) => {
        impl $name {
            $(
                $(#[$meta])*
                pub fn $field(mut self, value: impl Into<$ty>) -> Self {
                    self.$field = Some(value.into());
                    self
                }
            )*
        }
    };
}
