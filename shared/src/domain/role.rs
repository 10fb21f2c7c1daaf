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

/// Something a caller may be allowed to do. The matrix lives in [`Permission::roles`]; an
/// admin may also grant a single permission to one account beyond its role
/// ([`crate::domain::Account::grants`]). Named in snake case in APIs (`manage_orders`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// Every permission, in the order above.
    pub const ALL: [Permission; 13] = [
        Permission::ReadProducts,
        Permission::WriteProducts,
        Permission::ManageUsers,
        Permission::ReadAudit,
        Permission::ReadStock,
        Permission::MoveStock,
        Permission::ManageWarehouses,
        Permission::PlaceOrders,
        Permission::ReadAllOrders,
        Permission::ManageOrders,
        Permission::ManagePurchasing,
        Permission::ReadPersonas,
        Permission::ManagePersonas,
    ];

    /// Parses a permission's API name (`manage_orders`).
    pub fn parse(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|p| p.as_str()).collect();
                format!("'{name}' is not a permission; one of: {}", names.join(", "))
            })
    }

    /// The permission's API name (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ReadProducts => "read_products",
            Permission::WriteProducts => "write_products",
            Permission::ManageUsers => "manage_users",
            Permission::ReadAudit => "read_audit",
            Permission::ReadStock => "read_stock",
            Permission::MoveStock => "move_stock",
            Permission::ManageWarehouses => "manage_warehouses",
            Permission::PlaceOrders => "place_orders",
            Permission::ReadAllOrders => "read_all_orders",
            Permission::ManageOrders => "manage_orders",
            Permission::ManagePurchasing => "manage_purchasing",
            Permission::ReadPersonas => "read_personas",
            Permission::ManagePersonas => "manage_personas",
        }
    }

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
