//! Awaiting pp-ipc objects on a tokio current-thread runtime beside the
//! blocking calls, both against the same peer process: what the async
//! waiter thread adds to a round trip, and whether pp meets issue 12's goal
//! (an awaited queue round trip at most 1.5× the blocking one).

use pp_benches::Payload;
use pp_ipc::{Event, Queue};

use crate::measure::{Figure, Plan, measure};
use crate::peers::start_peer;
use crate::report::{Report, fmt_time};

/// The awaited round trip may take at most this many times the blocking one.
const GOAL: f64 = 1.5;

/// Adds the rows.
pub(crate) fn awaiting_ipc(plan: Plan, report: &mut Report) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let n = plan.n(5_000);

    let there = Queue::<Payload>::create(16).unwrap();
    let back = Queue::<Payload>::create(16).unwrap();
    let item = Payload::from(vec![7u8; 8]);
    let peer = start_peer(&["queue-echo", there.id().as_str(), back.id().as_str()]);
    let awaited = measure(plan, n, |n| {
        rt.block_on(async {
            for _ in 0..n {
                there.put_async(&item).await.unwrap();
                back.get_async().await.unwrap();
            }
        })
    });
    let blocking = measure(plan, n, |n| {
        (0..n).for_each(|_| {
            there.put(&item).unwrap();
            back.get().unwrap();
        })
    });
    drop(peer);
    report.add(
        "await queue ping-pong round trip, 8 B (tokio current-thread)",
        "Queue::get_async",
        awaited,
        vec![("blocking Queue::get", Some(blocking))],
    );

    let ping = Event::create().unwrap();
    let pong = Event::create().unwrap();
    let peer = start_peer(&["event-echo", ping.id().as_str(), pong.id().as_str()]);
    let event_awaited = measure(plan, n, |n| {
        rt.block_on(async {
            for _ in 0..n {
                ping.set();
                pong.wait_async().await.unwrap();
                pong.clear();
            }
        })
    });
    let event_blocking = measure(plan, n, |n| {
        (0..n).for_each(|_| {
            ping.set();
            pong.wait().unwrap();
            pong.clear();
        })
    });
    drop(peer);
    report.add(
        "await event ping-pong round trip (tokio current-thread)",
        "Event::wait_async",
        event_awaited,
        vec![("blocking Event::wait", Some(event_blocking))],
    );

    let times = awaited.median / blocking.median;
    let met = if times <= GOAL { "met" } else { "not met" };
    report.notes.push(format!(
        "awaiting IPC (tokio current-thread, medians of this run): an awaited queue round trip \
         takes {times:.2}× the blocking one ({} vs {}; goal at most {GOAL:.1}×: {met}); the \
         waiter thread's wake-up adds {} per awaited event round trip ({} vs {})",
        fmt_time(awaited.median),
        fmt_time(blocking.median),
        fmt_time(added(event_awaited, event_blocking)),
        fmt_time(event_awaited.median),
        fmt_time(event_blocking.median),
    ));
}

/// What the awaited form adds to the blocking one, per operation (0 if less).
fn added(awaited: Figure, blocking: Figure) -> f64 {
    (awaited.median - blocking.median).max(0.0)
}
