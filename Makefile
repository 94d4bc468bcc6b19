# Entry points named in the README. Everything needs root except `make unit`.
.PHONY: setup test unit bpf clean

setup:
	./setup.sh

test:
	./scripts/test-all

unit:
	.venv/bin/python -m pytest tests/unit -q

bpf:
	$(MAKE) -C bpf

clean:
	.venv/bin/lueur-net clean
