/* The snapshot state file format (see snapfile.h): the writer, and the one
 * parser every restored byte goes through. */
#include "vmm/snapfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/ratelimit.h"

/* A snapshot that is not one we can use: refused input, no errno meaning. */
#define SNAP_EBAD VS_EINVAL_CONFIG

static const char *const names[] = {
	[VS_SNAP_MACHINE] = "machine", [VS_SNAP_REGS] = "regs",	     [VS_SNAP_SREGS] = "sregs",
	[VS_SNAP_FPU] = "fpu",	       [VS_SNAP_XSAVE] = "xsave",     [VS_SNAP_XCRS] = "xcrs",
	[VS_SNAP_MSRS] = "msrs",       [VS_SNAP_CPUID] = "cpuid",     [VS_SNAP_LAPIC] = "lapic",
	[VS_SNAP_EVENTS] = "vcpu events", [VS_SNAP_MPSTATE] = "mp state", [VS_SNAP_DEBUGREGS] = "debug registers",
	[VS_SNAP_TSC_KHZ] = "tsc khz", [VS_SNAP_IRQCHIP] = "irqchip", [VS_SNAP_PIT] = "pit",
	[VS_SNAP_CLOCK] = "clock",     [VS_SNAP_SERIAL] = "serial",   [VS_SNAP_I8042] = "i8042",
	[VS_SNAP_ACPI_PM] = "acpi pm", [VS_SNAP_PVPANIC] = "pvpanic", [VS_SNAP_VIRTIO] = "virtio",
	[VS_SNAP_VSOCK_CFG] = "vsock config", [VS_SNAP_BALLOON_CFG] = "balloon config",
	[VS_SNAP_RATELIMITS] = "rate limiters",
};

const char *vs_snap_section_name(uint32_t id)
{
	return id > 0 && id < VS_SNAP_SECTION_END ? names[id] : "unknown";
}

uint32_t vs_crc32(uint32_t crc, const void *buf, size_t len)
{
	static uint32_t table[256];
	static _Atomic int ready;
	if (!ready) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		ready = 1;
	}
	const uint8_t *p = buf;
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* ---- writing ---- */

void vs_snapw_init(vs_snapw *w)
{
	memset(w, 0, sizeof(*w));
}

void vs_snapw_add(vs_snapw *w, uint32_t id, uint32_t inst, const void *data, size_t len)
{
	if (w->oom)
		return;
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		vs_snapw_sect *s = realloc(w->s, cap * sizeof(*s));
		if (!s) {
			w->oom = true;
			return;
		}
		w->s = s, w->cap = cap;
	}
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy) {
		w->oom = true;
		return;
	}
	memcpy(copy, data, len);
	w->s[w->n++] = (vs_snapw_sect){.id = id, .inst = inst, .data = copy, .len = len};
}

void vs_snapw_free(vs_snapw *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->s[i].data);
	free(w->s);
	memset(w, 0, sizeof(*w));
}

static size_t align8(size_t v)
{
	return (v + 7) & ~(size_t)7;
}

int vs_snapw_finish(vs_snapw *w, uint8_t **out, size_t *len, vs_err *err)
{
	*out = NULL;
	if (w->oom || w->n > VS_SNAP_MAX_SECTIONS) {
		vs_snapw_free(w);
		return vs_fail(err, ENOMEM, "snapshot: build the state (%zu sections)", w->n);
	}
	size_t total = align8(VS_SNAP_HEADER + 24 * w->n);
	for (size_t i = 0; i < w->n; i++)
		total = align8(total + w->s[i].len);
	uint8_t *b = calloc(1, total);
	if (!b) {
		vs_snapw_free(w);
		return vs_fail(err, ENOMEM, "snapshot: allocate %zu bytes of state", total);
	}
	memcpy(b, VS_SNAP_MAGIC, 8);
	uint32_t version = VS_SNAP_VERSION, n = (uint32_t)w->n;
	uint64_t size = total;
	memcpy(b + 8, &version, 4);
	memcpy(b + 16, &size, 8);
	memcpy(b + 24, &n, 4);
	size_t at = align8(VS_SNAP_HEADER + 24 * w->n);
	for (size_t i = 0; i < w->n; i++) {
		uint8_t *e = b + VS_SNAP_HEADER + 24 * i;
		uint64_t off = at, l = w->s[i].len;
		memcpy(e, &w->s[i].id, 4);
		memcpy(e + 4, &w->s[i].inst, 4);
		memcpy(e + 8, &off, 8);
		memcpy(e + 16, &l, 8);
		memcpy(b + at, w->s[i].data, w->s[i].len);
		at = align8(at + w->s[i].len);
	}
	uint32_t crc = vs_crc32(0, b + 16, total - 16);
	memcpy(b + 12, &crc, 4);
	vs_snapw_free(w);
	*out = b;
	*len = total;
	return 0;
}

/* ---- reading ---- */

int vs_snap_parse(const uint8_t *buf, size_t len, const char *name, vs_snap *s, vs_err *err)
{
	memset(s, 0, sizeof(*s));
	s->what = name;
	if (len < VS_SNAP_HEADER || memcmp(buf, VS_SNAP_MAGIC, 8))
		return vs_fail(err, SNAP_EBAD, "snapshot %s: not a vessel snapshot state file%s", name,
			       len < VS_SNAP_HEADER ? " (too short)" : " (bad magic)");
	uint32_t version = rd32(buf + 8);
	if (version != VS_SNAP_VERSION)
		return vs_fail(err, SNAP_EBAD, "snapshot %s: format version %u, this vessel reads version %u", name,
			       version, VS_SNAP_VERSION);
	uint64_t size = rd64(buf + 16);
	if (size != len)
		return vs_fail(err, SNAP_EBAD, "snapshot %s: truncated or extended (%zu bytes, the header says %llu)",
			       name, len, (unsigned long long)size);
	if (vs_crc32(0, buf + 16, len - 16) != rd32(buf + 12))
		return vs_fail(err, SNAP_EBAD, "snapshot %s: checksum mismatch (corrupted)", name);
	uint32_t n = rd32(buf + 24);
	if (n > VS_SNAP_MAX_SECTIONS || VS_SNAP_HEADER + 24ull * n > len || rd32(buf + 28))
		return vs_fail(err, SNAP_EBAD, "snapshot %s: bad section table (%u sections)", name, n);
	s->sect = calloc(n ? n : 1, sizeof(*s->sect));
	if (!s->sect)
		return vs_fail(err, ENOMEM, "snapshot %s: allocate the section table", name);
	uint64_t prev_end = VS_SNAP_HEADER + 24ull * n;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = buf + VS_SNAP_HEADER + 24 * i;
		vs_snap_sect x = {.id = rd32(e), .inst = rd32(e + 4), .off = rd64(e + 8), .len = rd64(e + 16)};
		/* In order, inside the file, not overlapping: no sum can wrap. */
		if (x.off < prev_end || x.off % 8 || x.off > len || x.len > len - x.off) {
			free(s->sect);
			s->sect = NULL;
			return vs_fail(err, SNAP_EBAD, "snapshot %s: section %u (%s) lies outside the file", name, i,
				       vs_snap_section_name(x.id));
		}
		for (uint32_t j = 0; j < i; j++)
			if (s->sect[j].id == x.id && s->sect[j].inst == x.inst) {
				free(s->sect);
				s->sect = NULL;
				return vs_fail(err, SNAP_EBAD, "snapshot %s: section %s %u appears twice", name,
					       vs_snap_section_name(x.id), x.inst);
			}
		prev_end = x.off + x.len;
		s->sect[i] = x;
	}
	s->buf = buf;
	s->len = len;
	s->n = n;
	return 0;
}

void vs_snap_free(vs_snap *s)
{
	free(s->sect);
	s->sect = NULL;
	s->n = 0;
}

static const vs_snap_sect *find(const vs_snap *s, uint32_t id, uint32_t inst)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->sect[i].id == id && s->sect[i].inst == inst)
			return &s->sect[i];
	return NULL;
}

bool vs_snap_has(const vs_snap *s, uint32_t id, uint32_t inst)
{
	return find(s, id, inst) != NULL;
}

int vs_snap_get(const vs_snap *s, uint32_t id, uint32_t inst, void *out, size_t want, vs_err *err)
{
	const vs_snap_sect *x = find(s, id, inst);
	if (!x)
		return vs_fail(err, SNAP_EBAD, "snapshot %s: no %s section (%u)", s->what, vs_snap_section_name(id), inst);
	if (x->len != want)
		return vs_fail(err, SNAP_EBAD, "snapshot %s: %s section (%u) is %llu bytes, expected %zu", s->what,
			       vs_snap_section_name(id), inst, (unsigned long long)x->len, want);
	memcpy(out, s->buf + x->off, want);
	return 0;
}

const void *vs_snap_get_array(const vs_snap *s, uint32_t id, uint32_t inst, size_t unit, size_t max, size_t *count,
			      vs_err *err)
{
	const vs_snap_sect *x = find(s, id, inst);
	if (!x) {
		vs_fail(err, SNAP_EBAD, "snapshot %s: no %s section (%u)", s->what, vs_snap_section_name(id), inst);
		return NULL;
	}
	if (x->len == 0 || x->len % unit || x->len / unit > max) {
		vs_fail(err, SNAP_EBAD, "snapshot %s: %s section (%u) of %llu bytes is not 1..%zu entries of %zu", s->what,
			vs_snap_section_name(id), inst, (unsigned long long)x->len, max, unit);
		return NULL;
	}
	*count = x->len / unit;
	return s->buf + x->off;
}

static bool has_nul(const char *p, size_t cap)
{
	return memchr(p, 0, cap) != NULL;
}

int vs_snap_read_machine(const vs_snap *s, vs_snap_machine *m, vs_err *err)
{
	if (vs_snap_get(s, VS_SNAP_MACHINE, 0, m, sizeof(*m), err) < 0)
		return -1;
	const char *w = s->what;
	if (m->ncpus < 1 || m->ncpus > 32 || ((m->flags & VS_SNAP_M_RING3) && m->ncpus != 1))
		return vs_fail(err, SNAP_EBAD, "snapshot %s: %u vCPUs", w, m->ncpus);
	if (m->flags & ~VS_SNAP_M_ALL)
		return vs_fail(err, SNAP_EBAD, "snapshot %s: unknown machine flags 0x%x", w, m->flags);
	if (m->mem_size < (16ull << 20) || m->mem_size % 4096 || m->mem_size > (1ull << 40))
		return vs_fail(err, SNAP_EBAD, "snapshot %s: guest memory of %llu bytes", w,
			       (unsigned long long)m->mem_size);
	unsigned extra = vs_snap_has(s, VS_SNAP_VSOCK_CFG, 0) + vs_snap_has(s, VS_SNAP_BALLOON_CFG, 0);
	if (m->n_devs > VS_SNAP_MAX_DEVS || m->n_virtio != m->n_devs + 1 + extra)
		return vs_fail(err, SNAP_EBAD, "snapshot %s: %u devices in %u virtio slots", w, m->n_devs, m->n_virtio);
	unsigned roots = 0;
	for (unsigned i = 0; i < m->n_devs; i++) {
		const vs_snap_device *d = &m->devs[i];
		if (d->kind > VS_SNAP_DEV_NET || d->flags & ~(VS_SNAP_DEV_RO | VS_SNAP_DEV_ROOT) ||
		    (d->kind == VS_SNAP_DEV_NET && d->flags) || !has_nul(d->id, sizeof(d->id)) || !d->id[0] ||
		    !has_nul(d->path, sizeof(d->path)) || !d->path[0] ||
		    (d->kind == VS_SNAP_DEV_NET && strlen(d->path) >= 16))
			return vs_fail(err, SNAP_EBAD, "snapshot %s: device %u is malformed", w, i);
		roots += !!(d->flags & VS_SNAP_DEV_ROOT);
	}
	if (roots > 1)
		return vs_fail(err, SNAP_EBAD, "snapshot %s: %u root drives", w, roots);
	return 0;
}

int vs_snap_read_serial(const vs_snap *s, vs_snap_serial *o, vs_err *err)
{
	if (vs_snap_get(s, VS_SNAP_SERIAL, 0, o, sizeof(*o), err) < 0)
		return -1;
	if (o->rx_head >= VS_SNAP_FIFO || o->rx_len > VS_SNAP_FIFO || o->thre_pending > 1 || o->irq_level > 1)
		return vs_fail(err, SNAP_EBAD, "snapshot %s: serial state out of range", s->what);
	return 0;
}

int vs_snap_read_i8042(const vs_snap *s, vs_snap_i8042 *o, vs_err *err)
{
	if (vs_snap_get(s, VS_SNAP_I8042, 0, o, sizeof(*o), err) < 0)
		return -1;
	if (o->out_len > sizeof(o->out))
		return vs_fail(err, SNAP_EBAD, "snapshot %s: i8042 state out of range", s->what);
	return 0;
}

int vs_snap_read_virtio(const vs_snap *s, unsigned slot, vs_snap_virtio *o, vs_err *err)
{
	if (vs_snap_get(s, VS_SNAP_VIRTIO, slot, o, sizeof(*o), err) < 0)
		return -1;
	bool bad = o->num_queues > VS_SNAP_MAX_QUEUES || o->dev_len > VS_SNAP_DEV_STATE_MAX || o->bad_features > 1 ||
		   o->irq_level > 1 || o->status > 0xff;
	for (unsigned i = 0; !bad && i < VS_SNAP_MAX_QUEUES; i++) {
		const vs_snap_vq *q = &o->vqs[i];
		/* Ring sizes and placement are checked again by vs_vq_enable against guest memory. */
		bad = q->ready > 1 || (i >= o->num_queues && (q->ready || q->num)) || (q->ready && !q->num) ||
		      (q->num & (q->num - 1));
	}
	if (bad)
		return vs_fail(err, SNAP_EBAD, "snapshot %s: virtio slot %u: state out of range", s->what, slot);
	return 0;
}

int vs_snap_read_vsock(const vs_snap *s, vs_snap_vsock *o, vs_err *err)
{
	if (!vs_snap_has(s, VS_SNAP_VSOCK_CFG, 0))
		return 0;
	if (vs_snap_get(s, VS_SNAP_VSOCK_CFG, 0, o, sizeof(*o), err) < 0)
		return -1;
	/* As vs_vmm_set_vsock: CIDs 0-2 are reserved, -1U is "any". */
	if (o->guest_cid < 3 || o->guest_cid >= UINT32_MAX || !has_nul(o->uds_path, sizeof(o->uds_path)) ||
	    !o->uds_path[0] || !has_nul(o->id, sizeof(o->id)))
		return vs_fail(err, SNAP_EBAD, "snapshot %s: vsock config out of range", s->what);
	return 1;
}

int vs_snap_read_balloon(const vs_snap *s, const vs_snap_machine *m, vs_snap_balloon *o, vs_err *err)
{
	if (!vs_snap_has(s, VS_SNAP_BALLOON_CFG, 0))
		return 0;
	if (vs_snap_get(s, VS_SNAP_BALLOON_CFG, 0, o, sizeof(*o), err) < 0)
		return -1;
	if ((uint64_t)o->amount_mib << 20 > m->mem_size || o->flags & ~VS_SNAP_BALLOON_DEFLATE_OOM || o->pad)
		return vs_fail(err, SNAP_EBAD, "snapshot %s: balloon config out of range", s->what);
	return 1;
}

int vs_snap_read_ratelimits(const vs_snap *s, const vs_snap_machine *m, vs_snap_ratelimits *o, vs_err *err)
{
	if (!vs_snap_has(s, VS_SNAP_RATELIMITS, 0))
		return 0;
	if (vs_snap_get(s, VS_SNAP_RATELIMITS, 0, o, sizeof(*o), err) < 0)
		return -1;
	/* The API's bounds (vs_fc_rate_limiter); nothing for absent devices or
	 * a drive's tx. */
	for (unsigned i = 0; i < VS_SNAP_MAX_DEVS; i++)
		for (unsigned k = 0; k < 4; k++) {
			const vs_snap_bucket *b = &o->b[i][k];
			bool unused = i >= m->n_devs || (k >= 2 && m->devs[i].kind != VS_SNAP_DEV_NET);
			if (b->size > VS_RL_MAX_TOKENS || b->one_time_burst > VS_RL_MAX_TOKENS ||
			    b->refill_ms > VS_RL_MAX_REFILL_MS || (unused && (b->size || b->one_time_burst || b->refill_ms)))
				return vs_fail(err, SNAP_EBAD, "snapshot %s: rate limiter of device %u out of range", s->what, i);
		}
	return 1;
}
