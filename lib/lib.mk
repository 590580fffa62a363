# lib/: code both kairos-boot and kairos-upgrade link.
LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIBKAIROS := $(BUILD)/libkairos.a

$(LIBKAIROS): $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^
