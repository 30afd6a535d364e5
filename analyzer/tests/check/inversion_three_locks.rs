// Three locks, three functions, each pair ordered consistently, the whole a cycle.
use parking_lot::Mutex;

pub struct Shop {
    stock: Mutex<u32>,
    orders: Mutex<u32>,
    invoices: Mutex<u32>,
}

impl Shop {
    pub fn order(&self) {
        let _stock = self.stock.lock();
        let _orders = self.orders.lock(); //~ ERROR lock-order-inversion
    }

    pub fn bill(&self) {
        let _orders = self.orders.lock();
        let _invoices = self.invoices.lock(); //~ ERROR lock-order-inversion
    }

    pub fn restock(&self) {
        let _invoices = self.invoices.lock();
        let _stock = self.stock.lock(); //~ ERROR lock-order-inversion
    }
}
