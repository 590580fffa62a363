#!/bin/bash
# Test helpers: a throwaway local registry (Debian's docker-registry, on
# 127.0.0.1 only, storage in a temp dir) and images built with umoci and
# pushed with skopeo. Source this file; call registry_stop from a trap.

# A TCP port nobody listens on right now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# registry_start DIR [HTPASSWD [CERT KEY]]: serve DIR/storage on
# 127.0.0.1:$REGISTRY_PORT, with Basic auth and TLS when given.
# Never the package's default config: it listens on every interface.
# REGISTRY_ACCESSLOG=1: log each request to DIR/registry.log (combined format).
registry_start() {
	local dir=$1 htpasswd=${2:-} cert=${3:-} key=${4:-} scheme=http
	REGISTRY_DIR=$dir
	REGISTRY_PORT=$(free_port)
	REGISTRY=127.0.0.1:$REGISTRY_PORT
	mkdir -p "$dir/storage"
	{
		echo "version: 0.1"
		if [ -n "${REGISTRY_ACCESSLOG:-}" ]; then
			echo "log: {level: error, accesslog: {disabled: false}}"
		else
			echo "log: {level: error, accesslog: {disabled: true}}"
		fi
		echo "storage:"
		echo "  filesystem: {rootdirectory: $dir/storage}"
		echo "  redirect: {disable: true}"
		echo "  delete: {enabled: true}"
		echo "http:"
		echo "  addr: $REGISTRY"
		echo "  secret: test-only"
		if [ -n "$cert" ]; then
			echo "  tls: {certificate: $cert, key: $key}"
		fi
		if [ -n "$htpasswd" ]; then
			echo "auth:"
			echo "  htpasswd: {realm: kairos-test, path: $htpasswd}"
		fi
	} >"$dir/config.yml"
	docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
	REGISTRY_PID=$!
	local i code
	[ -n "$cert" ] && scheme=https
	for i in $(seq 100); do
		code=$(curl -sk -o /dev/null -w '%{http_code}' "$scheme://$REGISTRY/v2/" || true)
		case $code in 200 | 401) return 0 ;; esac
		sleep 0.1
	done
	echo "# registry did not come up: $(cat "$dir/registry.log")"
	return 1
}

# make_ca DIR: a CA and a certificate for 127.0.0.1 it signed (DIR/ca.pem,
# DIR/cert.pem, DIR/key.pem).
make_ca() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=kairos-test-ca \
		-keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null &&
		openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$d/key.pem" -out "$d/cert.csr" 2>/dev/null &&
		printf 'subjectAltName=IP:127.0.0.1\n' >"$d/ext" &&
		openssl x509 -req -in "$d/cert.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
			-extfile "$d/ext" -out "$d/cert.pem" 2>/dev/null
}

registry_stop() {
	if [ -n "${REGISTRY_PID:-}" ]; then
		kill "$REGISTRY_PID" 2>/dev/null
		wait "$REGISTRY_PID" 2>/dev/null
		REGISTRY_PID=
	fi
}

# image_new LAYOUT TAG [OS ARCH [VARIANT]]: an empty image in an OCI layout.
image_new() {
	local layout=$1 tag=$2 os=${3:-linux} arch=${4:-amd64} variant=${5:-}
	[ -e "$layout/oci-layout" ] || umoci init --layout "$layout" >/dev/null
	umoci new --image "$layout:$tag" >/dev/null
	umoci config --image "$layout:$tag" --os "$os" --architecture "$arch" \
		${variant:+--config.variant "$variant"} >/dev/null 2>&1 ||
		umoci config --image "$layout:$tag" --os "$os" --architecture "$arch" >/dev/null
}

# image_add_layer LAYOUT TAG DIR: DIR's contents as the next layer (gzip).
image_add_layer() {
	local layout=$1 tag=$2 dir=$3 tar
	tar=$(mktemp)
	tar -C "$dir" --numeric-owner -cf "$tar" .
	umoci raw add-layer --image "$layout:$tag" "$tar" >/dev/null
	rm -f "$tar"
}

# push LAYOUT TAG NAME [skopeo options...]: copy to $REGISTRY/NAME:TAG.
push() {
	local layout=$1 tag=$2 name=$3
	shift 3
	skopeo copy -q --dest-tls-verify=false "$@" "oci:$layout:$tag" "docker://$REGISTRY/$name:$tag" >/dev/null
}
