//! Photos and videos end to end, with real processes: a therapist uploads a photo of a
//! municipality exercise used in a citizen's program, the tablet prefetches it, and with the
//! server gone the tablet's local API still shows it. Corrupted and partial downloads are
//! detected and never shown; the storage budget holds; the media endpoints refuse strangers.

use homerehab_core::media::{self, NewMedia};
use homerehab_core::store::now_ms;
use homerehab_scenarios::*;
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use sha2::{Digest, Sha256};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Bytes that look like a JPEG (SOI/APP0 … EOI) with `n` bytes of deterministic noise.
fn jpeg_like(n: usize, seed: u32) -> Vec<u8> {
    let mut out = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.push(x as u8);
    }
    out.extend([0xFF, 0xD9]);
    out
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn photo(name: &str) -> NewMedia {
    NewMedia {
        content_type: "image/jpeg".into(),
        file_name: name.into(),
        shows_person: true,
        consent: Some((
            "Medarbejderen på billedet".into(),
            "2026-11-20".into(),
            "intern brug i kommunen".into(),
        )),
        owner: "Thisted Kommune".into(),
    }
}

struct World {
    tmp: tempfile::TempDir,
    server: Server,
    laptop: Device,
    tablet: Device,
    exercise: String,
    course: CourseId,
}

/// A therapist's municipality exercise in a citizen's program, synced to the team's tablet.
async fn world(serve_args: &[&str]) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_with(&tmp.path().join("server"), serve_args);
    server.create_team("Nord");
    server.create_user("terapeut", "therapist", "Nord");
    server.create_user("assistent", "assistant", "Nord");
    let laptop = Device::login(&tmp.path().join("laptop"), &server, "terapeut").await;
    let tablet = Device::login(&tmp.path().join("tablet"), &server, "assistent").await;
    let me = laptop.me();
    let exercise = local_exercise("Knæstræk med håndklæde", me.user_id);
    let course = Course {
        status: CourseStatus::Active,
        ..Course::new(
            CitizenId::new(),
            me.team_id,
            me.user_id,
            "2026-11-02",
            now_ms(),
        )
    };
    {
        let mut s = laptop.store();
        s.put_local_exercise(&exercise).unwrap();
        let program = [
            program_line("sit-to-stand", 1.0, 2),
            program_line(&exercise.id, 2.0, 2),
        ];
        s.create_course(&course, &program).unwrap();
    }
    laptop.sync().await;
    tablet.sync().await;
    World {
        tmp,
        server,
        laptop,
        tablet,
        exercise: exercise.id,
        course: course.id,
    }
}

impl World {
    /// The therapist uploads `bytes` for the exercise; both devices sync.
    async fn upload(&self, bytes: &[u8], name: &str) -> String {
        let item = media::upload(
            &self.laptop.store,
            bytes.to_vec(),
            photo(name),
            Some(&self.exercise),
        )
        .await
        .expect("upload");
        self.laptop.sync().await;
        self.tablet.sync().await;
        item.sha256
    }

    fn tablet_media_dir(&self) -> std::path::PathBuf {
        self.tablet.store().media_settings().dir.clone()
    }

    fn server_file(&self, sha256: &str) -> std::path::PathBuf {
        self.server.data_dir.join("media").join(sha256)
    }
}

/// The tablet app (`homerehab-app`) on a loopback port, over the tablet's data folder.
struct LocalApi {
    child: Child,
    url: String,
}

impl LocalApi {
    fn start(data_dir: &std::path::Path, server: &str) -> LocalApi {
        let port = homerehab_scenarios::free_port();
        let child = Command::new(binary("homerehab-app"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--server", server, "--bind", &format!("127.0.0.1:{port}")])
            .args(["--sync-interval", "3600", "--lock-after-minutes", "0"])
            .arg("--assets-dir")
            .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets"))
            .env("RUST_LOG", "warn")
            .env("HOMEREHAB_LAUNCH_KEY", homerehab_scenarios::APP_LAUNCH_KEY)
            .stdout(Stdio::null())
            .spawn()
            .expect("start homerehab-app");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "homerehab-app did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        // The person unlocks the restarted app (its store is encrypted) with the PIN.
        let body = format!(r#"{{"pin":"{TEST_PIN}"}}"#);
        let unlocked = raw_status(
            port,
            &format!(
                "POST /api/unlock HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Homerehab-Key: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                homerehab_scenarios::APP_LAUNCH_KEY,
                body.len()
            ),
        );
        assert_eq!(unlocked, 200, "the test PIN opens the app");
        LocalApi {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for LocalApi {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_goes_from_the_therapist_to_the_tablet_and_shows_offline() {
    let mut w = world(&[]).await;
    let bytes = jpeg_like(300_000, 1);
    let sha256 = w.upload(&bytes, "knaestraek.jpg").await;
    assert_eq!(sha256, sha(&bytes));

    let report = media::prefetch(&w.tablet.store).await.unwrap();
    assert_eq!(report.fetched, 1, "{report:?}");
    assert_eq!(report.bytes_transferred, bytes.len() as u64);
    assert!(report.failed.is_empty() && report.skipped_over_budget.is_empty());
    // A second round has nothing to do.
    let again = media::prefetch(&w.tablet.store).await.unwrap();
    assert_eq!((again.fetched, again.bytes_transferred), (0, 0));

    // The server goes away; the tablet app serves the photo from the device.
    w.server.kill();
    let tablet_dir = w.tablet.dir.clone();
    let course = w.course;
    drop(w.tablet);
    let app = LocalApi::start(&tablet_dir, &w.server.url());
    let http = homerehab_scenarios::app_client();
    let detail: serde_json::Value = http
        .get(format!("{}/api/courses/{course}", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let line = &detail["lines"][1];
    assert_eq!(line["exercise_ref"], w.exercise.as_str());
    assert_eq!(line["title"], "Knæstræk med håndklæde");
    assert!(line["illustration"].is_null());
    let media = &line["media"][0];
    assert_eq!(media["available"], true, "{detail}");
    assert_eq!(media["shows_person"], true);
    assert_eq!(detail["lines"][0]["media"].as_array().unwrap().len(), 0);
    let url = format!("{}{}", app.url, media["url"].as_str().unwrap());
    let resp = http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), bytes.as_slice());
    // Seeking in a video works the same way: a range.
    let part = http
        .get(&url)
        .header("Range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    let n = bytes.len();
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 100-199/{n}").as_str()
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), &bytes[100..200]);
    // A range across the file's encrypted records, to its end, as a player asks for it.
    let tail = http
        .get(&url)
        .header("Range", "bytes=65000-")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), 206);
    assert_eq!(
        tail.headers()["content-range"],
        format!("bytes 65000-{}/{n}", n - 1).as_str()
    );
    assert_eq!(tail.bytes().await.unwrap().as_ref(), &bytes[65_000..]);
    // Anything else is not there.
    let unknown = http
        .get(format!("{}/media/{}", app.url, "ab".repeat(32)))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    drop(w.tmp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_download_is_detected_kept_nowhere_and_fetched_once_repaired() {
    let w = world(&[]).await;
    let bytes = jpeg_like(200_000, 2);
    let sha256 = w.upload(&bytes, "bro.jpg").await;
    // The server's copy is damaged (same size, flipped bytes).
    let mut damaged = bytes.clone();
    for b in &mut damaged[50_000..50_010] {
        *b ^= 0xFF;
    }
    std::fs::write(w.server_file(&sha256), &damaged).unwrap();

    let report = media::prefetch(&w.tablet.store).await.unwrap();
    assert_eq!(report.fetched, 0);
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert!(report.failed[0].1.contains("SHA-256"), "{report:?}");
    assert!(w.tablet.store().media_path(&sha256).unwrap().is_none());
    let left: Vec<_> = std::fs::read_dir(w.tablet_media_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        left.is_empty(),
        "nothing of a bad download is kept: {left:?}"
    );
    assert_eq!(w.tablet.store().last_prefetch().unwrap().unwrap(), report);

    // Repaired on the server: the next round fetches and verifies it.
    std::fs::write(w.server_file(&sha256), &bytes).unwrap();
    let report = media::prefetch(&w.tablet.store).await.unwrap();
    assert_eq!((report.fetched, report.failed.len()), (1, 0), "{report:?}");
    let (kept, _) = w.tablet.store().media_bytes(&sha256).unwrap().unwrap();
    assert_eq!(kept, bytes);
}

/// The background round after a sync and the one a person starts with a tap run at the same
/// time: the file is downloaded once, and both rounds end with it held and nothing failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_prefetch_rounds_at_once_download_each_file_once() {
    let w = world(&[]).await;
    let bytes = jpeg_like(2_000_000, 5);
    let sha256 = w.upload(&bytes, "trappe-stor.jpg").await;
    let (a, b) = tokio::join!(
        media::prefetch(&w.tablet.store),
        media::prefetch(&w.tablet.store)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    for report in [&a, &b] {
        assert!(report.failed.is_empty(), "{report:?}");
        assert_eq!(
            report.held_bytes,
            std::fs::metadata(w.tablet_media_dir().join(&sha256))
                .unwrap()
                .len()
        );
    }
    assert_eq!(a.fetched + b.fetched, 1, "{a:?} {b:?}");
    assert_eq!(
        a.bytes_transferred + b.bytes_transferred,
        bytes.len() as u64
    );
    let (kept, _) = w.tablet.store().media_bytes(&sha256).unwrap().unwrap();
    assert_eq!(kept, bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_download_resumes_where_it_stopped() {
    let w = world(&[]).await;
    let bytes = jpeg_like(400_000, 3);
    let sha256 = w.upload(&bytes, "trappe.jpg").await;
    let half = bytes.len() / 2;
    let dir = w.tablet_media_dir();
    std::fs::create_dir_all(&dir).unwrap();
    // Half of it, as a broken-off download leaves it: encrypted, in records.
    let key = w.tablet.store().media_key().unwrap();
    let (sealed, _) = homerehab_core::sealed_file::seal(&key, &sha256, 0, &bytes[..half]);
    std::fs::write(dir.join(format!("{sha256}.part")), sealed).unwrap();
    // Until it is complete and verified, nothing is shown.
    assert!(w.tablet.store().media_path(&sha256).unwrap().is_none());

    let report = media::prefetch(&w.tablet.store).await.unwrap();
    assert_eq!(report.fetched, 1, "{report:?}");
    assert_eq!(report.bytes_transferred, (bytes.len() - half) as u64);
    let (path, _) = w.tablet.store().media_path(&sha256).unwrap().unwrap();
    let (kept, _) = w.tablet.store().media_bytes(&sha256).unwrap().unwrap();
    assert_eq!(kept, bytes);
    // Encrypted on disk: the photo's bytes are not in the file.
    let on_disk = std::fs::read(path).unwrap();
    assert!(!on_disk.windows(64).any(|w| w == &bytes[1000..1064]));
    assert!(!dir.join(format!("{sha256}.part")).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefetch_stays_within_the_budget_and_drops_withdrawn_media() {
    let w = world(&[]).await;
    let files: Vec<Vec<u8>> = (0..3).map(|i| jpeg_like(200_000, 10 + i)).collect();
    let mut hashes = vec![];
    for (i, f) in files.iter().enumerate() {
        hashes.push(w.upload(f, &format!("billede{i}.jpg")).await);
    }
    w.tablet.store().set_media_budget(450_000);
    let report = media::prefetch(&w.tablet.store).await.unwrap();
    assert_eq!(report.fetched, 2, "{report:?}");
    assert_eq!(report.skipped_over_budget, vec![hashes[2].clone()]);
    assert!(report.held_bytes <= 450_000, "{report:?}");

    // More room: the rest comes.
    w.tablet.store().set_media_budget(1 << 20);
    let report = media::prefetch(&w.tablet.store).await.unwrap();
    assert_eq!((report.fetched, report.skipped_over_budget.len()), (1, 0));

    // Withdrawn on the therapist's laptop: after the next sync the tablet drops it.
    w.laptop.store().withdraw_media(&hashes[0]).unwrap();
    w.laptop.sync().await;
    w.tablet.sync().await;
    assert!(w.tablet.store().media_path(&hashes[0]).unwrap().is_none());
    let report = media::prefetch(&w.tablet.store).await.unwrap();
    assert_eq!(report.evicted, 1, "{report:?}");
    assert!(!w.tablet_media_dir().join(&hashes[0]).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_media_endpoints_refuse_strangers_wrong_bytes_and_oversized_files() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_with(&tmp.path().join("server"), &["--max-media-bytes", "100000"]);
    server.create_team("Nord");
    server.admin(&[
        "create-team",
        "--name",
        "Vest",
        "--municipality",
        "Haderslev Kommune",
    ]);
    server.create_user("terapeut", "therapist", "Nord");
    server.create_user("assistent", "assistant", "Nord");
    server.create_user("terapeut-h", "therapist", "Vest");
    let therapist = Device::login(&tmp.path().join("a"), &server, "terapeut").await;
    let assistant = Device::login(&tmp.path().join("b"), &server, "assistent").await;
    let stranger = Device::login(&tmp.path().join("c"), &server, "terapeut-h").await;
    let http = reqwest::Client::new();
    let bytes = jpeg_like(50_000, 4);
    let sha256 = sha(&bytes);
    let url = format!("{}/v1/media/{sha256}", server.url());
    let put = |token: String, body: Vec<u8>, url: String| {
        let http = http.clone();
        async move {
            http.put(url)
                .bearer_auth(token)
                .header("Content-Type", "image/jpeg")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let media_dir = server.data_dir.join("media");
    let kept = || -> Vec<String> { walk(&media_dir) };

    assert_eq!(put("0".repeat(64), bytes.clone(), url.clone()).await, 401);
    assert_eq!(
        put(assistant.me().token, bytes.clone(), url.clone()).await,
        403
    );
    let mut wrong = bytes.clone();
    wrong[10] ^= 1;
    assert_eq!(put(therapist.me().token, wrong, url.clone()).await, 400);
    assert!(kept().is_empty(), "a mismatch keeps nothing: {:?}", kept());
    // Oversized: refused from the declared length, before any byte is read (a raw request:
    // a client still sending its body may not get to read the answer). The limit on bytes
    // actually streamed is tested in sync-server's media module.
    let big = sha(&jpeg_like(150_000, 5));
    let request = format!(
        "PUT /v1/media/{big} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: image/jpeg\r\nContent-Length: 150000\r\n\r\n",
        therapist.me().token
    );
    assert_eq!(raw_status(server.port, &request), 413);
    assert!(
        kept().is_empty(),
        "an oversized upload keeps nothing: {:?}",
        kept()
    );
    let bad_name = format!("{}/v1/media/..%2F..%2Fetc", server.url());
    assert_eq!(
        put(therapist.me().token, bytes.clone(), bad_name).await,
        400
    );

    assert_eq!(
        put(therapist.me().token, bytes.clone(), url.clone()).await,
        201
    );
    assert_eq!(
        put(therapist.me().token, bytes.clone(), url.clone()).await,
        201
    );
    assert_eq!(kept(), vec![sha256.clone()]);

    let get = |token: String| http.get(&url).bearer_auth(token).send();
    assert_eq!(get("0".repeat(64)).await.unwrap().status(), 401);
    assert_eq!(get(stranger.me().token).await.unwrap().status(), 404);
    let ok = get(assistant.me().token).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["etag"], format!("\"{sha256}\"").as_str());
    assert!(ok.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert_eq!(ok.headers()["content-type"], "image/jpeg");
    assert_eq!(ok.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let head = http
        .head(&url)
        .bearer_auth(assistant.me().token)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-length"],
        bytes.len().to_string().as_str()
    );
    let rest = http
        .get(&url)
        .bearer_auth(assistant.me().token)
        .header("Range", "bytes=40000-")
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 206);
    assert_eq!(rest.bytes().await.unwrap().as_ref(), &bytes[40_000..]);
}

/// Sends `request` (headers only) and reads the status code of the answer.
fn raw_status(port: u16, request: &str) -> u16 {
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.write_all(request.as_bytes()).unwrap();
    let mut head = [0u8; 12];
    tcp.read_exact(&mut head).unwrap();
    std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap()
}

/// Every file under `dir` (names only), sorted.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = vec![];
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_operations_add_an_exercise_a_template_and_a_photo() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"));
    server.create_team("Nord");
    server.create_user("terapeut", "therapist", "Nord");
    server.create_user("assistent", "assistant", "Nord");
    drop(Device::login(&tmp.path().join("laptop"), &server, "terapeut").await);
    let app = LocalApi::start(&tmp.path().join("laptop"), &server.url());
    let http = homerehab_scenarios::app_client();
    let dosage = serde_json::json!({
        "sets": 2, "reps": 8, "duration_s": null, "hold_s": null, "rest_s": 60,
        "load": null, "side": "both"
    });
    let saved: serde_json::Value = http
        .post(format!("{}/api/library/exercises", app.url))
        .json(&serde_json::json!({
            "exercise_ref": null, "category": "balance", "position": "standing",
            "equipment": ["counter"], "body_areas": ["ankle_foot"], "difficulty": 2,
            "default_dosage": dosage,
            "da": { "title": "Vægtskift ved køkkenbordet", "summary": "Træner balancen.",
                    "steps": ["Stå ved bordet.", "Flyt vægten fra side til side."] },
            "en": null
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let exercise = saved["id"].as_str().expect("an id").to_string();
    assert!(exercise.starts_with("m-vaegtskift"), "{saved}");
    let template = http
        .post(format!("{}/api/library/templates", app.url))
        .json(&serde_json::json!({
            "template_id": null, "title": "Balance i køkkenet", "description": "Kort forløb.",
            "goals": [], "legal_basis": "SEL §83a", "planned_weeks": 4,
            "sessions_per_week": 2, "minutes_per_session": 15,
            "lines": [{ "exercise_ref": exercise, "dosage": null, "note": null },
                      { "exercise_ref": "sit-to-stand", "dosage": null, "note": "Opvarmning" }]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(template.status(), 200, "{:?}", template.text().await);
    let bytes = jpeg_like(20_000, 7);
    let photo: serde_json::Value = http
        .post(format!(
            "{}/api/library/exercises/{exercise}/media?file_name=bord.jpg&owner=Thisted%20Kommune",
            app.url
        ))
        .header("Content-Type", "image/jpeg")
        .body(bytes.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(photo["sha256"], sha(&bytes).as_str(), "{photo}");
    // A person in the picture without consent is refused before anything is uploaded.
    let refused = http
        .post(format!(
            "{}/api/library/exercises/{exercise}/media?file_name=a.jpg&owner=K&shows_person=true",
            app.url
        ))
        .header("Content-Type", "image/jpeg")
        .body(jpeg_like(100, 8))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let status = http
        .post(format!("{}/api/sync", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
    let media_status: serde_json::Value = http
        .get(format!("{}/api/media/status", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        media_status["budget_bytes"].as_u64().unwrap() > 0,
        "{media_status}"
    );

    let tablet = Device::login(&tmp.path().join("tablet"), &server, "assistent").await;
    tablet.sync().await;
    let local = tablet
        .store()
        .library_doc()
        .unwrap()
        .expect("the library arrived");
    assert_eq!(local.templates.len(), 1);
    assert_eq!(local.media_of(&exercise).len(), 1);
}
