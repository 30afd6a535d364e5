// A reentrant mutex may be taken again by its holder.
use parking_lot::ReentrantMutex;

pub struct Console {
    out: ReentrantMutex<()>,
}

impl Console {
    pub fn print_block(&self, lines: &[&str]) {
        let _whole = self.out.lock();
        for line in lines {
            self.print_line(line);
        }
    }

    fn print_line(&self, line: &str) {
        let _one = self.out.lock();
        println!("{line}");
    }
}
