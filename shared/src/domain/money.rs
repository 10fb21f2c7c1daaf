//! Money as integer minor units and an ISO 4217 currency; never floats.

use serde::{Deserialize, Serialize};

/// Active ISO 4217 currency codes accepted by Stockroom.
const ISO_4217: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND \
BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB \
EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY \
KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR \
MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF \
SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS \
UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG";

/// The largest amount accepted, in minor units (ten billion major units at two decimals).
pub const MAX_MINOR_UNITS: i64 = 1_000_000_000_000;

/// An ISO 4217 currency code such as `INR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses an upper-case ISO 4217 code.
    pub fn parse(code: &str) -> Result<Self, String> {
        let valid = code.len() == 3
            && code.bytes().all(|b| b.is_ascii_uppercase())
            && ISO_4217.split(' ').any(|c| c == code);
        if !valid {
            return Err(format!(
                "'{code}' is not an ISO 4217 currency code (expected e.g. INR, USD, EUR)"
            ));
        }
        let b = code.as_bytes();
        Ok(Self([b[0], b[1], b[2]]))
    }

    /// The three-letter code.
    pub fn as_str(&self) -> &str {
        // The bytes were checked to be ASCII upper-case letters.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.as_str().to_owned()
    }
}

/// An amount of money in a currency's minor units (paise, cents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Amount in minor units; never negative for prices.
    pub amount_minor: i64,
    pub currency: Currency,
}

impl Money {
    /// A price: between zero and [`MAX_MINOR_UNITS`].
    pub fn price(amount_minor: i64, currency: Currency) -> Result<Self, String> {
        Ok(Self {
            amount_minor: check_price_amount(amount_minor)?,
            currency,
        })
    }
}

/// Checks that a price amount lies between zero and [`MAX_MINOR_UNITS`].
pub(crate) fn check_price_amount(amount_minor: i64) -> Result<i64, String> {
    if !(0..=MAX_MINOR_UNITS).contains(&amount_minor) {
        return Err(format!(
            "must be between 0 and {MAX_MINOR_UNITS} minor units, got {amount_minor}"
        ));
    }
    Ok(amount_minor)
}

#[cfg(test)]
#[path = "money_test.rs"]
mod tests;
