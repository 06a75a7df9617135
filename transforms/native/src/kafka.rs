//! The transform's Kafka reader (`kafka_client = "native"`): librdkafka, built from its
//! crates.io source, read without a Python object per message.
//!
//! confluent-kafka's `consume` makes a `Message` object for each record (its value, topic,
//! headers, timestamp), and the reader then calls five methods on each to make the record
//! tuple: ~5 µs a record on the reading thread, holding the interpreter. Here the batch is
//! fetched with the interpreter released, and only the record tuples themselves are made,
//! with the interpreter, from librdkafka's messages. It reads the way `_ConfluentReader` in
//! `skillstream/kafka.py` does: the same settings, the position from the delivered records
//! and from end-of-partition events (librdkafka skips control records without a trace).

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use rdkafka_sys as rd;
use rdkafka_sys::rd_kafka_resp_err_t as Err;
use std::collections::VecDeque;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::sync::Mutex;

/// librdkafka's log lines, until Python takes them (`kafka_logs`) and logs them as
/// confluent-kafka's `logger` setting would: its threads never call into the interpreter.
static LOGS: Mutex<VecDeque<(i32, String, String)>> = Mutex::new(VecDeque::new());
const MAX_LOGS: usize = 1000;

unsafe extern "C" fn log_line(
    _rk: *const rd::rd_kafka_t,
    level: c_int,
    facility: *const c_char,
    line: *const c_char,
) {
    let text = |p: *const c_char| {
        if p.is_null() {
            String::new()
        } else {
            // SAFETY: librdkafka passes NUL-terminated strings, valid during the call
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
    };
    if let Ok(mut logs) = LOGS.lock() {
        if logs.len() >= MAX_LOGS {
            logs.pop_front();
        }
        logs.push_back((level, text(facility), text(line)));
    }
}

/// The log lines librdkafka wrote since the last call: (syslog level, facility, message).
#[pyfunction]
pub fn kafka_logs() -> Vec<(i32, String, String)> {
    LOGS.lock()
        .map(|mut logs| logs.drain(..).collect())
        .unwrap_or_default()
}

fn c_string(text: &str) -> PyResult<CString> {
    CString::new(text).map_err(|_| PyRuntimeError::new_err(format!("NUL in {text:?}")))
}

fn error_text(err: Err) -> String {
    // SAFETY: rd_kafka_err2str returns a static string for every code
    unsafe { CStr::from_ptr(rd::rd_kafka_err2str(err)) }
        .to_string_lossy()
        .into_owned()
}

/// librdkafka's handles; it is safe to use them from any thread.
struct Handle {
    rk: *mut rd::rd_kafka_t,
    queue: *mut rd::rd_kafka_queue_t,
}
unsafe impl Send for Handle {}
unsafe impl Sync for Handle {}

/// Messages fetched, owned until destroyed.
struct Messages(Vec<*mut rd::rd_kafka_message_t>);
unsafe impl Send for Messages {}

impl Drop for Messages {
    fn drop(&mut self) {
        for &message in &self.0 {
            // SAFETY: each came from rd_kafka_consume_batch_queue and is destroyed once
            unsafe { rd::rd_kafka_message_destroy(message) };
        }
    }
}

#[pyclass(module = "skillstream_native")]
pub struct KafkaReader {
    handle: Option<Handle>,
    position: i64,
    // the `source` header of the record before: a source sends many records in a row
    last_source: Option<(Vec<u8>, Py<PyString>)>,
}

impl KafkaReader {
    fn handle(&self) -> PyResult<&Handle> {
        self.handle
            .as_ref()
            .ok_or_else(|| PyRuntimeError::new_err("the Kafka reader is closed"))
    }

    fn source(
        &mut self,
        py: Python<'_>,
        message: *mut rd::rd_kafka_message_t,
    ) -> Option<Py<PyString>> {
        let mut headers: *mut rd::rd_kafka_headers_t = std::ptr::null_mut();
        // SAFETY: a valid message; the headers belong to it
        if unsafe { rd::rd_kafka_message_headers(message, &mut headers) }
            != Err::RD_KAFKA_RESP_ERR_NO_ERROR
        {
            return None;
        }
        // the first `source` header with a value, as `_source` in skillstream/kafka.py
        for index in 0.. {
            let (mut value, mut size): (*const c_void, usize) = (std::ptr::null(), 0);
            // SAFETY: valid headers, a NUL-terminated name
            let found = unsafe {
                rd::rd_kafka_header_get(headers, index, c"source".as_ptr(), &mut value, &mut size)
            };
            if found != Err::RD_KAFKA_RESP_ERR_NO_ERROR {
                return None;
            }
            if value.is_null() {
                continue;
            }
            // SAFETY: `size` bytes at `value`, alive while the message is
            let bytes = unsafe { std::slice::from_raw_parts(value.cast::<u8>(), size) };
            if let Some((last, text)) = &self.last_source
                && last.as_slice() == bytes
            {
                return Some(text.clone_ref(py));
            }
            let text = PyString::new(py, &String::from_utf8_lossy(bytes)).unbind();
            self.last_source = Some((bytes.to_vec(), text.clone_ref(py)));
            return Some(text);
        }
        None
    }
}

#[pymethods]
impl KafkaReader {
    /// A consumer with librdkafka's `config` (name -> value); it joins no group.
    #[new]
    fn new(config: Vec<(String, String)>) -> PyResult<Self> {
        let mut errstr = [0 as c_char; 512];
        // SAFETY: librdkafka's documented way to make a consumer; `conf` passes to rd_kafka_new
        unsafe {
            let conf = rd::rd_kafka_conf_new();
            for (name, value) in &config {
                let (n, v) = (c_string(name)?, c_string(value)?);
                if rd::rd_kafka_conf_set(
                    conf,
                    n.as_ptr(),
                    v.as_ptr(),
                    errstr.as_mut_ptr(),
                    errstr.len(),
                ) != rd::rd_kafka_conf_res_t::RD_KAFKA_CONF_OK
                {
                    rd::rd_kafka_conf_destroy(conf);
                    let why = CStr::from_ptr(errstr.as_ptr()).to_string_lossy();
                    return Err(PyRuntimeError::new_err(format!(
                        "librdkafka setting {name}: {why}"
                    )));
                }
            }
            rd::rd_kafka_conf_set_log_cb(conf, Some(log_line));
            let rk = rd::rd_kafka_new(
                rd::rd_kafka_type_t::RD_KAFKA_CONSUMER,
                conf,
                errstr.as_mut_ptr(),
                errstr.len(),
            );
            if rk.is_null() {
                rd::rd_kafka_conf_destroy(conf);
                let why = CStr::from_ptr(errstr.as_ptr()).to_string_lossy();
                return Err(PyRuntimeError::new_err(format!(
                    "librdkafka consumer: {why}"
                )));
            }
            rd::rd_kafka_poll_set_consumer(rk);
            let queue = rd::rd_kafka_queue_get_consumer(rk);
            Ok(KafkaReader {
                handle: Some(Handle { rk, queue }),
                position: 0,
                last_source: None,
            })
        }
    }

    /// Ask the cluster for its brokers; fail if none answers within `timeout_ms`.
    fn check_broker(&self, py: Python<'_>, timeout_ms: i32) -> PyResult<()> {
        let handle = self.handle()?;
        let err = py.detach(|| {
            let mut metadata: *const rd::rd_kafka_metadata = std::ptr::null();
            // SAFETY: a live handle; the metadata is destroyed once
            unsafe {
                let err = rd::rd_kafka_metadata(
                    handle.rk,
                    0,
                    std::ptr::null_mut(),
                    &mut metadata,
                    timeout_ms,
                );
                if !metadata.is_null() {
                    rd::rd_kafka_metadata_destroy(metadata);
                }
                err
            }
        });
        if err == Err::RD_KAFKA_RESP_ERR_NO_ERROR {
            Ok(())
        } else {
            Err(PyRuntimeError::new_err(error_text(err)))
        }
    }

    /// Read `topic[partition]` from `offset` on.
    fn seek(&mut self, topic: &str, partition: i32, offset: i64) -> PyResult<()> {
        let handle = self.handle()?;
        let name = c_string(topic)?;
        // SAFETY: a list of one partition, destroyed after the assignment copied it
        let err = unsafe {
            let list = rd::rd_kafka_topic_partition_list_new(1);
            let tp = rd::rd_kafka_topic_partition_list_add(list, name.as_ptr(), partition);
            (*tp).offset = offset;
            let err = rd::rd_kafka_assign(handle.rk, list);
            rd::rd_kafka_topic_partition_list_destroy(list);
            err
        };
        if err != Err::RD_KAFKA_RESP_ERR_NO_ERROR {
            return Err(PyRuntimeError::new_err(format!(
                "assigning {topic}[{partition}]@{offset}: {}",
                error_text(err)
            )));
        }
        self.position = offset;
        Ok(())
    }

    /// Up to `max_records` records, waiting up to `timeout_ms` for them, as tuples (offset,
    /// value, `source` header, timestamp in ms), and the position after them.
    fn read<'py>(
        &mut self,
        py: Python<'py>,
        max_records: usize,
        timeout_ms: i32,
    ) -> PyResult<(Bound<'py, PyList>, i64)> {
        let queue = self.handle()?.queue as usize;
        let max_records = max_records.max(1);
        let messages = py.detach(|| {
            let mut messages = Messages(Vec::with_capacity(max_records));
            // SAFETY: room for `max_records` pointers; librdkafka fills the first n
            let n = unsafe {
                rd::rd_kafka_consume_batch_queue(
                    queue as *mut rd::rd_kafka_queue_t,
                    timeout_ms,
                    messages.0.as_mut_ptr(),
                    max_records,
                )
            };
            // SAFETY: the first n are initialised (n < 0: none, an invalid queue)
            unsafe { messages.0.set_len(n.max(0) as usize) };
            messages
        });
        let records = PyList::empty(py);
        let mut fatal = None;
        for &message in &messages.0 {
            // SAFETY: a message librdkafka handed over, alive until `messages` drops
            let m = unsafe { &*message };
            match m.err {
                Err::RD_KAFKA_RESP_ERR_NO_ERROR => {
                    let value = if m.payload.is_null() {
                        None
                    } else {
                        // SAFETY: `len` bytes at `payload`
                        let bytes =
                            unsafe { std::slice::from_raw_parts(m.payload.cast::<u8>(), m.len) };
                        Some(PyBytes::new(py, bytes))
                    };
                    let source = self.source(py, message);
                    let mut kind = rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
                    // SAFETY: a valid message
                    let timestamp = unsafe { rd::rd_kafka_message_timestamp(message, &mut kind) };
                    records.append(PyTuple::new(
                        py,
                        [
                            m.offset.into_pyobject(py)?.into_any(),
                            value.into_pyobject(py)?.into_any(),
                            source.into_pyobject(py)?.into_any(),
                            timestamp.into_pyobject(py)?.into_any(),
                        ],
                    )?)?;
                    self.position = m.offset + 1;
                }
                Err::RD_KAFKA_RESP_ERR__PARTITION_EOF => {
                    self.position = self.position.max(m.offset);
                }
                Err::RD_KAFKA_RESP_ERR__FATAL => {
                    let mut errstr = [0 as c_char; 512];
                    // SAFETY: a live handle, a buffer of its length
                    unsafe {
                        rd::rd_kafka_fatal_error(
                            self.handle()?.rk,
                            errstr.as_mut_ptr(),
                            errstr.len(),
                        )
                    };
                    // SAFETY: librdkafka wrote a NUL-terminated string
                    fatal = Some(
                        unsafe { CStr::from_ptr(errstr.as_ptr()) }
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
                // anything else (a broker going away, a leader moving) librdkafka retries itself
                _ => {}
            }
        }
        drop(messages);
        if let Some(why) = fatal {
            return Err(PyRuntimeError::new_err(format!(
                "librdkafka fatal error: {why}"
            )));
        }
        Ok((records, self.position))
    }

    /// Leave the partition and free librdkafka's handle; the reader cannot read after it.
    fn close(&mut self, py: Python<'_>) {
        if let Some(handle) = self.handle.take() {
            py.detach(move || destroy(handle));
        }
    }
}

fn destroy(handle: Handle) {
    // SAFETY: the handle is taken out of the reader, so nothing uses it after this
    unsafe {
        rd::rd_kafka_queue_destroy(handle.queue);
        rd::rd_kafka_consumer_close(handle.rk);
        rd::rd_kafka_destroy(handle.rk);
    }
}

impl Drop for KafkaReader {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            destroy(handle);
        }
    }
}
