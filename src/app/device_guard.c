/*
 * device_guard.c — who may change a device's security configuration
 * (docs/security.md "Devices").
 *
 *  - Passwords (ReinitializeDevice, DeviceCommunicationControl) are checked
 *    through the check_password callback (a stored hash) or against the
 *    configured password. Failures are counted per source address: after
 *    GUARD_FREE_FAILURES failures a source is refused for 1 s, doubling with
 *    each further failure up to GUARD_MAX_LOCKOUT, whatever it sends.
 *  - A correct password opens a commissioning session for that source
 *    (GUARD_SESSION_US, renewed by each allowed change). While the device
 *    has a password, writes to its Network Port and File objects (trust,
 *    certificate, key, hub URIs, mode: everything that decides whom it
 *    trusts) are accepted only from a source with a session; the site tool
 *    opens one with DeviceCommunicationControl(enable, password).
 *  - The commissioning lock (the locked callback) refuses those writes
 *    outright, password or not, until it is lifted locally.
 */
#include <string.h>

#include "app/device_internal.h"

#define GUARD_FREE_FAILURES 3
#define GUARD_SESSION_US (600ull * 1000000ull)
#define GUARD_MAX_LOCKOUT_US (900ull * 1000000ull)

static dev_guard_entry *find(bacsc_device *dev, const bacsc_address *src, bool create,
                             uint64_t now)
{
    dev_guard_entry *free_e = NULL, *oldest = NULL;
    for (size_t i = 0; i < DEV_GUARD_SOURCES; i++) {
        dev_guard_entry *e = &dev->guard[i];
        if (e->used && bacsc_address_equal(&e->src, src))
            return e;
        if (!e->used && !free_e)
            free_e = e;
        if (e->used && (!oldest || e->last < oldest->last))
            oldest = e;
    }
    if (!create)
        return NULL;
    /* A full table forgets the source seen longest ago — never one that is
     * locked out right now (an attacker must not flush its own lock-out by
     * spraying addresses: then the newcomer gets no slot and is refused). */
    dev_guard_entry *e = free_e ? free_e : oldest;
    if (!free_e && e && e->locked_until > now)
        return NULL;
    memset(e, 0, sizeof *e);
    e->used = true;
    e->src = *src;
    return e;
}

bool dev_guard_has_password(const bacsc_device *dev)
{
    return dev->has_password || dev->cb.check_password != NULL;
}

static void event(bacsc_device *dev, const bacsc_address *src, const char *what)
{
    if (dev->cb.security_event)
        dev->cb.security_event(dev->cb.user, src, what);
}

int dev_guard_password(bacsc_device *dev, const bacsc_address *src, bool has,
                       const bacsc_charstring *pw, uint64_t now)
{
    if (!dev_guard_has_password(dev))
        return DEV_GUARD_OK;
    dev_guard_entry *e = find(dev, src, true, now);
    if (!e) {
        event(dev, src, "password refused: too many sources failing at once");
        return DEV_GUARD_LOCKED;
    }
    e->last = now;
    if (e->locked_until > now) {
        e->failures++;
        event(dev, src, "password refused: source locked out after repeated failures");
        return DEV_GUARD_LOCKED;
    }
    bool ok = false;
    if (has && pw->charset == BACSC_CHARSET_UTF8) {
        if (dev->cb.check_password)
            ok = dev->cb.check_password(dev->cb.user, pw->data, pw->len) == 1;
        else
            ok = pw->len == strlen(dev->password) &&
                 memcmp(pw->data, dev->password, pw->len) == 0;
    }
    if (ok) {
        e->failures = 0;
        e->locked_until = 0;
        e->session_until = now + GUARD_SESSION_US;
        return DEV_GUARD_OK;
    }
    e->session_until = 0;
    e->failures++;
    if (e->failures >= GUARD_FREE_FAILURES) {
        unsigned k = e->failures - GUARD_FREE_FAILURES;
        uint64_t lock = k >= 10 ? GUARD_MAX_LOCKOUT_US : (1000000ull << k);
        if (lock > GUARD_MAX_LOCKOUT_US)
            lock = GUARD_MAX_LOCKOUT_US;
        e->locked_until = now + lock;
    }
    event(dev, src, has ? "password failure" : "password missing");
    return DEV_GUARD_WRONG;
}

int dev_guard_may_change(bacsc_device *dev, const bacsc_address *src, uint16_t obj_type,
                         uint64_t now)
{
    if (obj_type != BACSC_OBJ_NETWORK_PORT && obj_type != BACSC_OBJ_FILE)
        return DEV_GUARD_OK;
    if (dev->cb.locked && dev->cb.locked(dev->cb.user)) {
        event(dev, src, "change refused: commissioning lock is on");
        return DEV_GUARD_LOCKED;
    }
    if (!dev_guard_has_password(dev))
        return DEV_GUARD_OK;
    dev_guard_entry *e = find(dev, src, false, now);
    if (!e || e->session_until <= now) {
        event(dev, src, "change refused: no commissioning session (password) from this source");
        return DEV_GUARD_WRONG;
    }
    e->last = now;
    e->session_until = now + GUARD_SESSION_US;
    return DEV_GUARD_OK;
}
