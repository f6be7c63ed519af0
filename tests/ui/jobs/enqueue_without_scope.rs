// A job is enqueued without its tenant: only a `TenantJob`, made from a
// scope, can be enqueued.
use tenant_jobs::JobQueue;

#[derive(serde::Serialize, serde::Deserialize)]
struct SendReminder {
    invoice_id: i64,
}

async fn enqueue(queue: &JobQueue<SendReminder>) {
    let _ = queue.enqueue(SendReminder { invoice_id: 7 }).await;
}

fn main() {
    let _ = enqueue;
}
