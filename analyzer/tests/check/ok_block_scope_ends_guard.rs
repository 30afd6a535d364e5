// A guard bound in an inner block ends with the block.
use parking_lot::Mutex;

pub struct Buffer {
    data: Mutex<Vec<u8>>,
}

impl Buffer {
    pub fn append_and_measure(&self, byte: u8) -> usize {
        {
            let mut data = self.data.lock();
            data.push(byte);
        }
        let length = {
            let data = self.data.lock();
            data.len()
        };
        length + self.data.lock().len()
    }
}
