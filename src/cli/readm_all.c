/*
 * readm_all.c — `bacsc readm DEVICE all [PROPS]`: every object of a device.
 *
 * 1. The Object_List, read whole (a segmented answer when it is long); when
 *    the device cannot send it in one answer (Abort segmentation-not-
 *    supported or buffer-overflow, or an answer we cannot take), element 0
 *    and then each element, ELEMENTS_IN_FLIGHT requests at a time.
 * 2. The objects in batches, one ReadPropertyMultiple each, BATCHES_IN_FLIGHT
 *    at a time: a batch is as many objects as fit the device's Max_APDU
 *    (the request) and at most BATCH_SEGMENTED objects (one object when the
 *    device does not send segmented answers). A batch whose answer the device
 *    cannot send is split in two and both halves queued again; a single
 *    object that still cannot be read is reported as failed (exit 5).
 * 3. The answers are kept and printed in Object_List order at the end.
 *
 * Progress goes to stderr at most once a second; --timeout counts from the
 * last answer (a long read goes on while answers keep coming).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/value.h"
#include "cli.h"
#include "readm.h"
#include "sc_cli.h"

#define PROG "readm"
#define ELEMENTS_IN_FLIGHT 8
#define BATCHES_IN_FLIGHT 4
#define BATCH_SEGMENTED 32
#define CONFIRMED_HEADER 4   /* unsegmented Confirmed-Request header */
#define PROGRESS_US 1000000u

typedef struct ra_range {
    size_t first, count;
} ra_range;

/* The answer for objects [first, first + count): an RPM-ACK, or an error. */
typedef struct ra_chunk {
    size_t first, count;
    uint8_t *ack;
    size_t len;
    char err[96];
} ra_chunk;

typedef struct readm_all {
    sc_tool *t;
    const bacsc_rpm_ref *refs;
    size_t nrefs;
    const char *props_text;
    bacsc_address addr;
    uint32_t instance;
    size_t per_request;          /* objects per batch at most */
    bacsc_object_id *objs;
    size_t nobjs;
    /* Object_List element by element */
    size_t next_element, elements_done;
    /* batches */
    ra_range *queue;
    size_t qhead, qlen, qcap;
    size_t inflight;
    ra_chunk *chunks;
    size_t nchunks, cchunks;
    size_t objects_done, failed;
    uint64_t last_progress;
    bool progress_shown;
} readm_all;

/* What a request's completion callback needs. */
typedef struct ra_req {
    readm_all *ra;
    size_t first, count;         /* batch; or element index in `first` */
} ra_req;

static readm_all g_ra;

static void pump(readm_all *ra);

static void keep_alive(readm_all *ra)
{
    bacsc_timer_start(ra->t->loop, &ra->t->deadline, sc_us(ra->t->o.timeout));
}

static void progress(readm_all *ra, const char *what, size_t done, size_t total, bool final)
{
    uint64_t now = sc_tool_now(ra->t);
    if (final ? !ra->progress_shown : now - ra->last_progress < PROGRESS_US)
        return;
    if (!ra->last_progress) {    /* the first call only starts the clock */
        ra->last_progress = now;
        return;
    }
    ra->last_progress = now;
    ra->progress_shown = true;
    fprintf(stderr, "bacsc %s: %s %zu of %zu\n", PROG, what, done, total);
}

static ra_req *new_req(readm_all *ra, size_t first, size_t count)
{
    ra_req *q = malloc(sizeof *q);
    if (q) {
        q->ra = ra;
        q->first = first;
        q->count = count;
    }
    return q;
}

static void fail_now(readm_all *ra, int rc)
{
    sc_tool_finish(ra->t, rc);
}

/* ---- output ----------------------------------------------------------------------- */

static int chunk_cmp(const void *a, const void *b)
{
    const ra_chunk *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

static void print_failed(const readm_all *ra, const ra_chunk *c, json_t *arr)
{
    char ob[64];
    bacsc_object_id_format(&ra->objs[c->first], ob, sizeof ob);
    if (arr) {
        json_t *o = json_object();
        json_object_set_new(o, "object", json_string(ob));
        json_object_set_new(o, "property", json_string(ra->props_text));
        json_object_set_new(o, "error", json_string(c->err));
        json_array_append_new(arr, o);
    } else {
        printf("%s %s ! %s\n", ob, ra->props_text, c->err);
    }
}

static void finish_output(readm_all *ra)
{
    progress(ra, "objects read:", ra->objects_done, ra->nobjs, true);
    qsort(ra->chunks, ra->nchunks, sizeof *ra->chunks, chunk_cmp);
    json_t *arr = ra->t->json ? json_array() : NULL;
    for (size_t i = 0; i < ra->nchunks; i++) {
        ra_chunk *c = &ra->chunks[i];
        if (c->ack == NULL || readm_print_ack(c->ack, c->len, arr) < 0) {
            if (c->ack)
                snprintf(c->err, sizeof c->err, "malformed ReadPropertyMultiple-ACK");
            print_failed(ra, c, arr);
        }
    }
    if (arr)
        cli_print_json(arr);
    fflush(stdout);
    if (ra->failed)
        cli_error(PROG, "%zu of %zu objects could not be read", ra->failed, ra->nobjs);
    sc_tool_finish(ra->t, ra->failed ? EXIT_PARTIAL : EXIT_OK);
}

/* ---- batches ----------------------------------------------------------------------- */

static bool push_range(readm_all *ra, size_t first, size_t count)
{
    if (ra->qhead + ra->qlen == ra->qcap) {
        if (ra->qhead) {
            memmove(ra->queue, ra->queue + ra->qhead, ra->qlen * sizeof *ra->queue);
            ra->qhead = 0;
        } else {
            size_t cap = ra->qcap ? ra->qcap * 2 : 64;
            ra_range *q = realloc(ra->queue, cap * sizeof *q);
            if (q == NULL)
                return false;
            ra->queue = q;
            ra->qcap = cap;
        }
    }
    ra->queue[ra->qhead + ra->qlen++] = (ra_range){first, count};
    return true;
}

static ra_chunk *add_chunk(readm_all *ra, size_t first, size_t count)
{
    if (ra->nchunks == ra->cchunks) {
        size_t cap = ra->cchunks ? ra->cchunks * 2 : 64;
        ra_chunk *c = realloc(ra->chunks, cap * sizeof *c);
        if (c == NULL)
            return NULL;
        ra->chunks = c;
        ra->cchunks = cap;
    }
    ra_chunk *c = &ra->chunks[ra->nchunks++];
    memset(c, 0, sizeof *c);
    c->first = first;
    c->count = count;
    return c;
}

/* An answer the device could not give for this many objects at once. */
static bool too_big(const bacsc_client_result *r)
{
    if (r->outcome == BACSC_CLIENT_ABORT || r->outcome == BACSC_CLIENT_BAD_ACK)
        return r->reason == BACSC_ABORT_SEGMENTATION_NOT_SUPPORTED ||
               r->reason == BACSC_ABORT_BUFFER_OVERFLOW || r->reason == BACSC_ABORT_APDU_TOO_LONG;
    return false;
}

static void batch_done(void *user, const bacsc_client_result *r)
{
    ra_req *q = user;
    readm_all *ra = q->ra;
    size_t first = q->first, count = q->count;
    free(q);
    if (ra->t->finishing)
        return;
    ra->inflight--;
    keep_alive(ra);
    if (r->outcome == BACSC_CLIENT_TIMEOUT || r->outcome == BACSC_CLIENT_CANCELLED) {
        fail_now(ra, sc_tool_result_error(ra->t, r));
        return;
    }
    if (r->outcome != BACSC_CLIENT_COMPLEX_ACK && count > 1 &&
        (too_big(r) || r->outcome == BACSC_CLIENT_ERROR)) {
        size_t half = count / 2;
        if (!push_range(ra, first, half) || !push_range(ra, first + half, count - half)) {
            fail_now(ra, EXIT_FAIL);
            return;
        }
        pump(ra);
        return;
    }
    ra_chunk *c = add_chunk(ra, first, count);
    if (c == NULL) {
        fail_now(ra, EXIT_FAIL);
        return;
    }
    if (r->outcome == BACSC_CLIENT_COMPLEX_ACK && (c->ack = malloc(r->ack_len ? r->ack_len : 1))) {
        memcpy(c->ack, r->ack, r->ack_len);
        c->len = r->ack_len;
    } else {
        bacsc_client_result_format(r, c->err, sizeof c->err);
        ra->failed += count;
    }
    ra->objects_done += count;
    progress(ra, "objects read:", ra->objects_done, ra->nobjs, false);
    pump(ra);
}

static int send_batch(readm_all *ra, size_t first, size_t count)
{
    bacsc_rpm_spec *specs = calloc(count, sizeof *specs);
    ra_req *q = new_req(ra, first, count);
    if (specs == NULL || q == NULL) {
        free(specs);
        free(q);
        return BACSC_ERR_NOMEM;
    }
    for (size_t i = 0; i < count; i++)
        specs[i] = (bacsc_rpm_spec){ra->objs[first + i], ra->refs, ra->nrefs};
    int rc = bacsc_client_read_property_multiple(ra->t->cl, &ra->addr, specs, count, batch_done,
                                                 q, sc_tool_now(ra->t));
    free(specs);
    if (rc < 0)
        free(q);
    else
        ra->inflight++;
    return rc;
}

/* Keep BATCHES_IN_FLIGHT requests going; print everything once all is in. */
static void pump(readm_all *ra)
{
    while (ra->inflight < BATCHES_IN_FLIGHT && ra->qlen) {
        ra_range g = ra->queue[ra->qhead++];
        ra->qlen--;
        int rc = send_batch(ra, g.first, g.count);
        if (rc < 0) {
            fail_now(ra, sc_tool_request_failed(ra->t, "ReadPropertyMultiple", rc, ra->instance));
            return;
        }
    }
    if (ra->inflight == 0 && ra->qlen == 0)
        finish_output(ra);
}

/* How many objects one request may carry: its encoding must fit the
 * device's Max_APDU. */
static size_t objects_per_request(const readm_all *ra, unsigned peer_max, bool segments)
{
    uint8_t buf[64];
    bacsc_object_id any = {BACSC_OBJ_DEVICE, BACSC_MAX_INSTANCE};
    size_t spec = (size_t)bacsc_rpm_encode_object_begin(buf, sizeof buf, &any) +
                  (size_t)bacsc_rpm_encode_object_end(buf, sizeof buf);
    for (size_t i = 0; i < ra->nrefs; i++)
        spec += (size_t)bacsc_rpm_encode_ref(buf, sizeof buf, &ra->refs[i]);
    size_t max = peer_max >= 50 && peer_max < 1476 ? peer_max : 1476;
    size_t n = (max - CONFIRMED_HEADER) / spec;
    size_t cap = segments ? BATCH_SEGMENTED : 1;
    if (n > cap)
        n = cap;
    return n ? n : 1;
}

static void start_batches(readm_all *ra)
{
    if (ra->nobjs == 0) {
        finish_output(ra);
        return;
    }
    ra->last_progress = 0;
    progress(ra, "", 0, 0, false);
    for (size_t i = 0; i < ra->nobjs; i += ra->per_request) {
        size_t n = ra->nobjs - i < ra->per_request ? ra->nobjs - i : ra->per_request;
        if (!push_range(ra, i, n)) {
            fail_now(ra, EXIT_FAIL);
            return;
        }
    }
    ra->t->waiting_for = "the ReadPropertyMultiple answers";
    pump(ra);
}

/* ---- the Object_List ------------------------------------------------------------------ */

static int read_list(readm_all *ra, bool has_index, uint32_t index, bacsc_client_done_fn done,
                     void *user)
{
    bacsc_rp_request rp = {.object = {BACSC_OBJ_DEVICE, ra->instance},
                           .property = BACSC_PROP_OBJECT_LIST,
                           .has_index = has_index,
                           .index = index};
    return bacsc_client_read_property(ra->t->cl, &ra->addr, &rp, done, user, sc_tool_now(ra->t));
}

static bool list_failed(readm_all *ra, const bacsc_client_result *r)
{
    if (r->outcome == BACSC_CLIENT_COMPLEX_ACK)
        return false;
    fail_now(ra, sc_tool_result_error(ra->t, r));
    return true;
}

/* The value of a ReadProperty-ACK; false (and the tool ends) when it does
 * not decode. */
static bool ack_value(readm_all *ra, const bacsc_client_result *r, bacsc_rp_ack *ack)
{
    if (bacsc_rp_ack_decode(r->ack, r->ack_len, ack, NULL) < 0) {
        cli_error(PROG, "malformed ReadProperty-ACK for the Object_List");
        fail_now(ra, EXIT_DATAERR);
        return false;
    }
    return true;
}

static void element_done(void *user, const bacsc_client_result *r);

static void pump_elements(readm_all *ra)
{
    while (ra->next_element <= ra->nobjs &&
           ra->next_element - 1 - ra->elements_done < ELEMENTS_IN_FLIGHT) {
        ra_req *q = new_req(ra, ra->next_element, 1);
        int rc = q ? read_list(ra, true, (uint32_t)ra->next_element, element_done, q)
                   : BACSC_ERR_NOMEM;
        if (rc < 0) {
            free(q);
            fail_now(ra, sc_tool_request_failed(ra->t, "ReadProperty", rc, ra->instance));
            return;
        }
        ra->next_element++;
    }
}

static void element_done(void *user, const bacsc_client_result *r)
{
    ra_req *q = user;
    readm_all *ra = q->ra;
    size_t idx = q->first;
    free(q);
    if (ra->t->finishing || list_failed(ra, r))
        return;
    keep_alive(ra);
    bacsc_rp_ack ack;
    bacsc_value v;
    if (!ack_value(ra, r, &ack))
        return;
    if (bacsc_values_decode(ack.value, ack.value_len, &v, 1) != 1 ||
        v.type != BACSC_TAG_OBJECT_ID) {
        cli_error(PROG, "Object_List[%zu] is not an object identifier", idx);
        fail_now(ra, EXIT_DATAERR);
        return;
    }
    ra->objs[idx - 1] = v.v.oid;
    ra->elements_done++;
    progress(ra, "Object_List elements read:", ra->elements_done, ra->nobjs, false);
    if (ra->elements_done == ra->nobjs)
        start_batches(ra);
    else
        pump_elements(ra);
}

static void count_done(void *user, const bacsc_client_result *r)
{
    readm_all *ra = user;
    if (ra->t->finishing || list_failed(ra, r))
        return;
    keep_alive(ra);
    bacsc_rp_ack ack;
    bacsc_value v;
    if (!ack_value(ra, r, &ack))
        return;
    if (bacsc_values_decode(ack.value, ack.value_len, &v, 1) != 1 ||
        v.type != BACSC_TAG_UNSIGNED || v.v.unsigned_ > 4194304u) {
        cli_error(PROG, "Object_List[0] is not an object count");
        fail_now(ra, EXIT_DATAERR);
        return;
    }
    ra->nobjs = (size_t)v.v.unsigned_;
    ra->objs = calloc(ra->nobjs ? ra->nobjs : 1, sizeof *ra->objs);
    if (ra->objs == NULL) {
        fail_now(ra, EXIT_FAIL);
        return;
    }
    if (ra->nobjs == 0) {
        start_batches(ra);
        return;
    }
    ra->next_element = 1;
    ra->t->waiting_for = "the Object_List elements";
    pump_elements(ra);
}

/* Object_List read whole: the object identifiers into ra->objs. */
static bool take_list(readm_all *ra, const bacsc_client_result *r)
{
    bacsc_rp_ack ack;
    if (!ack_value(ra, r, &ack))
        return false;
    bacsc_value_iter it;
    bacsc_value v;
    int n = bacsc_value_list_count(ack.value, ack.value_len);
    ra->objs = calloc(n > 0 ? (size_t)n : 1, sizeof *ra->objs);
    if (n < 0 || ra->objs == NULL) {
        cli_error(PROG, "the Object_List does not decode");
        fail_now(ra, n < 0 ? EXIT_DATAERR : EXIT_FAIL);
        return false;
    }
    bacsc_value_iter_init(&it, ack.value, ack.value_len);
    while (bacsc_value_iter_next(&it, &v) == 1) {
        if (v.type != BACSC_TAG_OBJECT_ID) {
            cli_error(PROG, "the Object_List holds a value that is not an object identifier");
            fail_now(ra, EXIT_DATAERR);
            return false;
        }
        ra->objs[ra->nobjs++] = v.v.oid;
    }
    return true;
}

static void list_done(void *user, const bacsc_client_result *r)
{
    readm_all *ra = user;
    if (ra->t->finishing)
        return;
    keep_alive(ra);
    if (too_big(r) || (r->outcome == BACSC_CLIENT_BAD_ACK) ||
        (r->outcome == BACSC_CLIENT_REJECT)) {
        /* not in one answer: the count, then element by element */
        ra->t->waiting_for = "the Object_List count";
        int rc = read_list(ra, true, 0, count_done, ra);
        if (rc < 0)
            fail_now(ra, sc_tool_request_failed(ra->t, "ReadProperty", rc, ra->instance));
        return;
    }
    if (list_failed(ra, r) || !take_list(ra, r))
        return;
    start_batches(ra);
}

static void found(sc_tool *t, const bacsc_client_device *dev)
{
    readm_all *ra = &g_ra;
    ra->addr = dev->address;
    ra->instance = dev->instance;
    /* With a target ADDR:PORT the instance is unknown: the wildcard
     * instance names the device that answers. I-Am's segmentation:
     * 0 both, 1 transmit (a target's unknown one reads as 0). */
    bool segments = dev->segmentation == BACSC_SEGMENTATION_BOTH ||
                    dev->segmentation == BACSC_SEGMENTATION_TRANSMIT;
    ra->per_request = objects_per_request(ra, dev->max_apdu, segments);
    t->waiting_for = "the Object_List";
    int rc = read_list(ra, false, 0, list_done, ra);
    if (rc < 0)
        fail_now(ra, sc_tool_request_failed(t, "ReadProperty", rc, ra->instance));
}

static void ready(sc_tool *t)
{
    sc_tool_resolve(t, t->want_instance, found);
}

int readm_all_main(sc_tool *t, const bacsc_rpm_ref *refs, size_t nrefs, const char *props_text)
{
    readm_all *ra = &g_ra;
    memset(ra, 0, sizeof *ra);
    ra->t = t;
    ra->refs = refs;
    ra->nrefs = nrefs;
    ra->props_text = props_text;
    int rc = sc_tool_main(t, ra, ready);
    for (size_t i = 0; i < ra->nchunks; i++)
        free(ra->chunks[i].ack);
    free(ra->chunks);
    free(ra->queue);
    free(ra->objs);
    return rc;
}
