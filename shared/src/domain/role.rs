//! Roles and the permission matrix: who may do what, as data.

use serde::{Deserialize, Serialize};

/// An account's role. Ordered from most to least privileged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the installation: accounts, roles, everything a manager can do.
    Admin,
    /// Runs the catalogue and warehouses.
    Manager,
    /// Works the warehouse floor: stock movements and scans.
    Staff,
    /// Buys things.
    Customer,
}

impl Role {
    /// Every role, most privileged first.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Manager, Role::Staff, Role::Customer];

    /// The role's name as it appears in tokens and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Staff => "staff",
            Role::Customer => "customer",
        }
    }

    /// Whether this role holds `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        permission.roles().contains(&self)
    }
}

/// Something a caller may be allowed to do. The matrix lives in [`Permission::roles`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Read the catalogue (every signed-in account).
    ReadProducts,
    /// Create, change, archive and restore products, and upload their images.
    WriteProducts,
    /// List accounts, change their roles, disable them.
    ManageUsers,
    /// Read the audit log.
    ReadAudit,
    /// See warehouses, stock levels and the ledger.
    ReadStock,
    /// Receive, ship, adjust, count and transfer stock.
    MoveStock,
    /// Create and change warehouses.
    ManageWarehouses,
    /// Place orders and see, pay and cancel one's own (every signed-in account).
    PlaceOrders,
    /// See everyone's orders.
    ReadAllOrders,
    /// Cancel any unpaid order and refund paid ones.
    ManageOrders,
    /// Create and change suppliers and purchase orders.
    ManagePurchasing,
    /// Generate, list, read and search personas.
    ReadPersonas,
    /// Delete personas.
    ManagePersonas,
}

impl Permission {
    /// The roles that hold this permission: the permission matrix, as data.
    pub fn roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Permission::ReadProducts => &[Admin, Manager, Staff, Customer],
            Permission::WriteProducts => &[Admin, Manager],
            Permission::ManageUsers | Permission::ReadAudit => &[Admin],
            Permission::ReadStock | Permission::MoveStock => &[Admin, Manager, Staff],
            Permission::ManageWarehouses => &[Admin, Manager],
            Permission::PlaceOrders => &[Admin, Manager, Staff, Customer],
            Permission::ReadAllOrders => &[Admin, Manager, Staff],
            Permission::ManageOrders
            | Permission::ManagePurchasing
            | Permission::ManagePersonas => &[Admin, Manager],
            Permission::ReadPersonas => &[Admin, Manager, Staff],
        }
    }
}
