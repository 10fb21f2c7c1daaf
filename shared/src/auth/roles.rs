//! Permissions as types: each handler demands one in its signature ([`Guard`], [`can`]). The
//! roles and the matrix itself are business rules, in [`crate::domain::role`].

pub use crate::domain::{Permission, Role};

/// A type standing for one [`Permission`], so a handler can demand it in its signature.
pub trait Guard: Send + Sync + 'static {
    /// The permission demanded.
    const PERMISSION: Permission;
}

/// Guards for [`Permission`]s, one type each.
pub mod can {
    use super::{Guard, Permission};

    /// Demands [`Permission::ReadProducts`].
    #[derive(Debug)]
    pub struct ReadProducts;
    impl Guard for ReadProducts {
        const PERMISSION: Permission = Permission::ReadProducts;
    }

    /// Demands [`Permission::WriteProducts`].
    #[derive(Debug)]
    pub struct WriteProducts;
    impl Guard for WriteProducts {
        const PERMISSION: Permission = Permission::WriteProducts;
    }

    /// Demands [`Permission::ManageUsers`].
    #[derive(Debug)]
    pub struct ManageUsers;
    impl Guard for ManageUsers {
        const PERMISSION: Permission = Permission::ManageUsers;
    }

    /// Demands [`Permission::ReadStock`].
    #[derive(Debug)]
    pub struct ReadStock;
    impl Guard for ReadStock {
        const PERMISSION: Permission = Permission::ReadStock;
    }

    /// Demands [`Permission::MoveStock`].
    #[derive(Debug)]
    pub struct MoveStock;
    impl Guard for MoveStock {
        const PERMISSION: Permission = Permission::MoveStock;
    }

    /// Demands [`Permission::ManageWarehouses`].
    #[derive(Debug)]
    pub struct ManageWarehouses;
    impl Guard for ManageWarehouses {
        const PERMISSION: Permission = Permission::ManageWarehouses;
    }

    /// Demands [`Permission::PlaceOrders`].
    #[derive(Debug)]
    pub struct PlaceOrders;
    impl Guard for PlaceOrders {
        const PERMISSION: Permission = Permission::PlaceOrders;
    }

    /// Demands [`Permission::ManageOrders`].
    #[derive(Debug)]
    pub struct ManageOrders;
    impl Guard for ManageOrders {
        const PERMISSION: Permission = Permission::ManageOrders;
    }

    /// Demands [`Permission::ManagePurchasing`].
    #[derive(Debug)]
    pub struct ManagePurchasing;
    impl Guard for ManagePurchasing {
        const PERMISSION: Permission = Permission::ManagePurchasing;
    }

    /// Demands [`Permission::ReadPersonas`].
    #[derive(Debug)]
    pub struct ReadPersonas;
    impl Guard for ReadPersonas {
        const PERMISSION: Permission = Permission::ReadPersonas;
    }

    /// Demands [`Permission::ManagePersonas`].
    #[derive(Debug)]
    pub struct ManagePersonas;
    impl Guard for ManagePersonas {
        const PERMISSION: Permission = Permission::ManagePersonas;
    }

    /// Demands [`Permission::ReadAudit`].
    #[derive(Debug)]
    pub struct ReadAudit;
    impl Guard for ReadAudit {
        const PERMISSION: Permission = Permission::ReadAudit;
    }
}

#[cfg(test)]
#[path = "roles_test.rs"]
mod tests;
