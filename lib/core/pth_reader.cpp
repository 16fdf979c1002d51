#include "core/pth_reader.h"

#include <caffe2/serialize/inline_container.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <unordered_map>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "core/errors.h"

namespace lidere {
namespace {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Global {
  std::string module, name;
  std::string full() const { return module + "." + name; }
};
struct Tuple {
  std::vector<ValuePtr> items;
};
struct List {
  std::vector<ValuePtr> items;
};
struct Dict {
  std::vector<std::pair<ValuePtr, ValuePtr>> items;
};
struct StorageRef {
  torch::ScalarType dtype;
  std::string key;
  std::int64_t numel;
};
struct None {};
struct Mark {};

struct Value {
  std::variant<None, Mark, bool, std::int64_t, double, std::string, Global, Tuple, List, Dict, StorageRef, torch::Tensor>
      v;
};

template <typename T>
ValuePtr make(T value) {
  return std::make_shared<Value>(Value{std::move(value)});
}

// Storage classes torch.save names in a tensor's persistent id.
bool storage_dtype(const std::string& name, torch::ScalarType* dtype) {
  static const std::map<std::string, torch::ScalarType> kStorages = {
      {"DoubleStorage", torch::kFloat64}, {"FloatStorage", torch::kFloat32}, {"HalfStorage", torch::kFloat16},
      {"BFloat16Storage", torch::kBFloat16}, {"LongStorage", torch::kInt64}, {"IntStorage", torch::kInt32},
      {"ShortStorage", torch::kInt16},    {"CharStorage", torch::kInt8},     {"ByteStorage", torch::kUInt8},
      {"BoolStorage", torch::kBool}};
  const auto it = kStorages.find(name);
  if (it == kStorages.end()) return false;
  *dtype = it->second;
  return true;
}

// Returns the storage (a 1-D tensor of `numel` elements) that a tensor's persistent id names.
// Zip archives read it on demand; the legacy format allocates it and fills it after the pickle.
using StorageProvider = std::function<torch::Tensor(const StorageRef&)>;

class Unpickler {
 public:
  Unpickler(std::string path, StorageProvider storages, const char* data, std::size_t size, std::size_t start = 0)
      : path_(std::move(path)), storages_(std::move(storages)), data_(data), size_(size), pos_(start) {}

  // Byte offset after the STOP opcode of the last run().
  std::size_t position() const { return pos_; }

  ValuePtr run() {
    while (true) {
      const auto op = static_cast<unsigned char>(read(1)[0]);
      switch (op) {
        case 0x80: read(1); break;                      // PROTO
        case 0x95: read(8); break;                      // FRAME
        case '.': return pop();                         // STOP
        case '(': stack_.push_back(make(Mark{})); break;  // MARK
        case 'N': stack_.push_back(make(None{})); break;
        case 0x88: stack_.push_back(make(true)); break;
        case 0x89: stack_.push_back(make(false)); break;
        case 'K': stack_.push_back(make(static_cast<std::int64_t>(u8()))); break;
        case 'M': stack_.push_back(make(static_cast<std::int64_t>(u16()))); break;
        case 'J': stack_.push_back(make(static_cast<std::int64_t>(static_cast<std::int32_t>(u32())))); break;
        case 0x8a: stack_.push_back(make(long1())); break;
        case 'G': stack_.push_back(make(binfloat())); break;
        case 'X': stack_.push_back(make(text(u32()))); break;
        case 0x8c: stack_.push_back(make(text(u8()))); break;
        case 'T': stack_.push_back(make(text(u32()))); break;
        case 'U': stack_.push_back(make(text(u8()))); break;
        case 'c': {
          const std::string module = line(), name = line();
          stack_.push_back(make(Global{module, name}));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          const auto name = as<std::string>(pop(), "STACK_GLOBAL name");
          const auto module = as<std::string>(pop(), "STACK_GLOBAL module");
          stack_.push_back(make(Global{module, name}));
          break;
        }
        case 'q': memo(u8()); break;
        case 'r': memo(u32()); break;
        case 0x94: memo(memo_.size()); break;  // MEMOIZE
        case 'h': stack_.push_back(recall(u8())); break;
        case 'j': stack_.push_back(recall(u32())); break;
        case '}': stack_.push_back(make(Dict{})); break;
        case ']': stack_.push_back(make(List{})); break;
        case ')': stack_.push_back(make(Tuple{})); break;
        case 't': stack_.push_back(make(Tuple{pop_to_mark()})); break;
        case 0x85: stack_.push_back(make(Tuple{pop_n(1)})); break;
        case 0x86: stack_.push_back(make(Tuple{pop_n(2)})); break;
        case 0x87: stack_.push_back(make(Tuple{pop_n(3)})); break;
        case 'a': {
          auto item = pop();
          list_of(top()).items.push_back(item);
          break;
        }
        case 'e': {
          auto items = pop_to_mark();
          auto& list = list_of(top());
          list.items.insert(list.items.end(), items.begin(), items.end());
          break;
        }
        case 's': {
          auto value = pop();
          auto key = pop();
          dict_of(top()).items.emplace_back(key, value);
          break;
        }
        case 'u': {
          auto items = pop_to_mark();
          if (items.size() % 2) fail("SETITEMS with an odd number of items");
          auto& dict = dict_of(top());
          for (std::size_t i = 0; i < items.size(); i += 2) dict.items.emplace_back(items[i], items[i + 1]);
          break;
        }
        case 'R': {  // REDUCE
          auto args = pop();
          auto callable = pop();
          stack_.push_back(reduce(as<Global>(callable, "REDUCE callable"), as<Tuple>(args, "REDUCE arguments")));
          break;
        }
        case 'b': pop(); break;  // BUILD: object state (e.g. a state dict's _metadata) is not needed
        case 'Q': stack_.push_back(persistent_load(as<Tuple>(pop(), "persistent id"))); break;
        default: fail(fmt::format("unsupported pickle opcode 0x{:02x} at byte {}", op, pos_ - 1));
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw InputError(fmt::format("{}: not a readable PyTorch checkpoint: {}", path_, problem));
  }

  const char* read(std::size_t n) {
    if (n > size_ - pos_) fail("data.pkl is truncated");
    const char* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  std::string text(std::size_t n) {
    const char* p = read(n);
    return std::string(p, n);
  }
  std::uint64_t le(std::size_t n) {
    const auto* p = reinterpret_cast<const unsigned char*>(read(n));
    std::uint64_t v = 0;
    for (std::size_t i = n; i-- > 0;) v = (v << 8) | p[i];
    return v;
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(le(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(le(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(le(4)); }
  std::int64_t long1() {
    const std::size_t n = u8();
    if (n > 8) fail("integer wider than 64 bits");
    if (n == 0) return 0;
    std::uint64_t v = le(n);
    if (n < 8 && (v >> (8 * n - 1)) & 1) v |= ~std::uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<std::int64_t>(v);
  }
  double binfloat() {
    const auto* p = reinterpret_cast<const unsigned char*>(read(8));
    std::uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];  // big-endian
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }
  std::string line() {
    const std::size_t start = pos_;
    while (pos_ < size_ && data_[pos_] != '\n') ++pos_;
    if (pos_ >= size_) fail("unterminated GLOBAL");
    return std::string(data_ + start, data_ + pos_++);
  }

  ValuePtr pop() {
    if (stack_.empty()) fail("pickle stack underflow");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  ValuePtr& top() {
    if (stack_.empty()) fail("pickle stack underflow");
    return stack_.back();
  }
  std::vector<ValuePtr> pop_n(std::size_t n) {
    if (stack_.size() < n) fail("pickle stack underflow");
    std::vector<ValuePtr> items(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
    stack_.resize(stack_.size() - n);
    return items;
  }
  std::vector<ValuePtr> pop_to_mark() {
    for (std::size_t i = stack_.size(); i-- > 0;) {
      if (std::holds_alternative<Mark>(stack_[i]->v)) {
        std::vector<ValuePtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(i) + 1, stack_.end());
        stack_.resize(i);
        return items;
      }
    }
    fail("MARK not found");
  }
  void memo(std::size_t index) {
    memo_[index] = top();
  }
  ValuePtr recall(std::size_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail(fmt::format("memo entry {} is not defined", index));
    return it->second;
  }

  template <typename T>
  T& as(const ValuePtr& value, const char* what) {
    auto* p = std::get_if<T>(&value->v);
    if (!p) fail(fmt::format("unexpected value type for {}", what));
    return *p;
  }
  List& list_of(const ValuePtr& value) { return as<List>(value, "APPEND target"); }
  Dict& dict_of(const ValuePtr& value) { return as<Dict>(value, "SETITEM target"); }
  std::vector<std::int64_t> int_tuple(const ValuePtr& value, const char* what) {
    std::vector<std::int64_t> out;
    for (const auto& item : as<Tuple>(value, what).items) out.push_back(as<std::int64_t>(item, what));
    return out;
  }

  ValuePtr persistent_load(const Tuple& id) {
    // ('storage', storage class, key, location, numel), plus view metadata in the legacy format
    if ((id.items.size() != 5 && id.items.size() != 6) || as<std::string>(id.items[0], "persistent id") != "storage") {
      fail("persistent id is not a storage reference");
    }
    const auto& type = as<Global>(id.items[1], "storage class");
    StorageRef ref;
    if (type.module != "torch" || !storage_dtype(type.name, &ref.dtype)) {
      fail(fmt::format("unsupported storage type {}", type.full()));
    }
    ref.key = as<std::string>(id.items[2], "storage key");
    ref.numel = as<std::int64_t>(id.items[4], "storage size");
    return make(ref);
  }

  ValuePtr reduce(const Global& callable, const Tuple& args) {
    const std::string name = callable.full();
    if (name == "collections.OrderedDict") return make(Dict{});
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      if (args.items.size() < 4) fail("_rebuild_tensor_v2 with too few arguments");
      const torch::Tensor storage = storages_(as<StorageRef>(args.items[0], "tensor storage"));
      const auto offset = as<std::int64_t>(args.items[1], "storage offset");
      const auto sizes = int_tuple(args.items[2], "tensor size");
      const auto strides = int_tuple(args.items[3], "tensor stride");
      if (sizes.size() != strides.size()) fail("tensor size and stride differ in length");
      // Bounds: the largest element index must lie inside the storage.
      if (offset < 0) fail("negative storage offset");
      std::int64_t last = offset;
      bool empty = false;
      for (std::size_t i = 0; i < sizes.size(); ++i) {
        if (sizes[i] < 0 || strides[i] < 0) fail("negative tensor size or stride");
        empty = empty || sizes[i] == 0;
        std::int64_t extent = 0;
        if (sizes[i] > 0 && (__builtin_mul_overflow(sizes[i] - 1, strides[i], &extent) ||
                             __builtin_add_overflow(last, extent, &last))) {
          fail("tensor size or stride overflows");
        }
      }
      if (!empty && last >= storage.numel()) fail("tensor reaches outside its storage");
      // A view for now: legacy files fill the storage after the pickle (see read_pth_state_dict).
      return make(storage.as_strided(sizes, strides, offset));
    }
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
      if (args.items.empty()) fail("_rebuild_parameter without data");
      return make(as<torch::Tensor>(args.items[0], "parameter data"));
    }
    fail(fmt::format("refusing to call {} (only state dicts of tensors are read)", name));
  }

  std::string path_;
  StorageProvider storages_;
  const char* data_;
  std::size_t size_;
  std::size_t pos_;
  std::vector<ValuePtr> stack_;
  std::unordered_map<std::size_t, ValuePtr> memo_;  // sparse: indices come from the file
};

// Allocates a storage, refusing sizes that the file cannot hold (`max_bytes`): a corrupt or
// hostile size must give an error naming the file, not an allocation failure.
torch::Tensor allocate_storage(const std::string& path, const StorageRef& ref, std::uint64_t max_bytes) {
  const std::uint64_t element = c10::elementSize(ref.dtype);
  if (ref.numel < 0 || static_cast<std::uint64_t>(ref.numel) > max_bytes / element) {
    throw InputError(fmt::format("{}: not a readable PyTorch checkpoint: storage '{}' claims {} elements of {}, more "
                                 "than the file holds",
                                 path, ref.key, ref.numel, c10::toString(ref.dtype)));
  }
  return torch::empty({ref.numel}, torch::TensorOptions().dtype(ref.dtype));
}

// torch.save's zip format (torch >= 1.6): data.pkl plus one record per storage.
ValuePtr read_zip_unchecked(const std::string& path);

ValuePtr read_zip(const std::string& path) {
  try {
    return read_zip_unchecked(path);
  } catch (const c10::Error& e) {
    // The zip reader (miniz) reports damage as c10::Error: turn it into an error about the file.
    throw InputError(fmt::format("{}: damaged torch.save archive ({})", path,
                                 std::string(e.what_without_backtrace()).substr(0, 160)));
  }
}

ValuePtr read_zip_unchecked(const std::string& path) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> archive;
  try {
    archive = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error&) {
    throw InputError(fmt::format("{}: not a readable torch.save zip archive", path));
  }
  if (!archive->hasRecord("data.pkl")) throw InputError(fmt::format("{}: archive has no data.pkl", path));
  std::map<std::string, torch::Tensor> storages;
  StorageProvider provider = [&](const StorageRef& ref) {
    const auto cached = storages.find(ref.key);
    if (cached != storages.end()) return cached->second;
    const std::string record = "data/" + ref.key;
    if (!archive->hasRecord(record)) {
      throw InputError(fmt::format("{}: not a readable PyTorch checkpoint: storage record '{}' is missing", path, record));
    }
    auto [data, nbytes] = archive->getRecord(record);
    torch::Tensor storage = allocate_storage(path, ref, nbytes);
    if (nbytes != storage.nbytes()) {
      throw InputError(fmt::format("{}: storage '{}' holds {} bytes, {} elements of {} need {}", path, ref.key, nbytes,
                                   ref.numel, c10::toString(ref.dtype), storage.nbytes()));
    }
    if (nbytes) std::memcpy(storage.data_ptr(), data.get(), nbytes);
    storages.emplace(ref.key, storage);
    return storage;
  };
  auto [pickle, size] = archive->getRecord("data.pkl");
  return Unpickler(path, provider, static_cast<const char*>(pickle.get()), size).run();
}

// The legacy format (torch < 1.6): pickles of the magic number, the protocol version and system
// info, then the object pickle, then a pickle of the storage keys, then each storage in that
// order as an int64 element count followed by its raw little-endian bytes.
ValuePtr read_legacy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open ({})", path, std::strerror(errno)));
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  auto fail = [&](const std::string& problem) -> ValuePtr {
    throw InputError(fmt::format("{}: not a readable PyTorch checkpoint: {}", path, problem));
  };
  // Magic number 0x1950a86a20f9469cfc6c as a 10-byte LONG1, then protocol 1001 as BININT2.
  static const unsigned char kHeader[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8,
                                          0x50, 0x19, 0x2e, 0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e};
  if (bytes.size() < sizeof(kHeader) || std::memcmp(bytes.data(), kHeader, sizeof(kHeader)) != 0) {
    return fail("neither a torch.save zip archive nor the legacy torch.save format");
  }
  std::map<std::string, torch::Tensor> storages;
  StorageProvider provider = [&](const StorageRef& ref) {
    auto it = storages.find(ref.key);
    if (it == storages.end()) it = storages.emplace(ref.key, allocate_storage(path, ref, bytes.size())).first;
    return it->second;
  };
  std::size_t pos = sizeof(kHeader);
  auto next = [&]() {
    Unpickler unpickler(path, provider, bytes.data(), bytes.size(), pos);
    ValuePtr value = unpickler.run();
    pos = unpickler.position();
    return value;
  };
  next();  // system info (byte order, type sizes)
  ValuePtr root = next();
  ValuePtr keys = next();
  const auto* key_list = std::get_if<List>(&keys->v);
  if (!key_list) return fail("the storage key list is missing");
  for (const auto& key_value : key_list->items) {
    const auto* key = std::get_if<std::string>(&key_value->v);
    if (!key || !storages.count(*key)) return fail("the storage key list names an unknown storage");
    torch::Tensor& storage = storages.at(*key);
    if (bytes.size() - pos < 8) return fail("truncated storage data");
    std::int64_t numel = 0;
    std::memcpy(&numel, bytes.data() + pos, 8);
    pos += 8;
    const auto nbytes = storage.nbytes();
    if (numel != storage.numel() || bytes.size() - pos < nbytes) {
      return fail(fmt::format("storage '{}' is truncated or has {} elements instead of {}", *key, numel, storage.numel()));
    }
    std::memcpy(storage.data_ptr(), bytes.data() + pos, nbytes);
    pos += nbytes;
  }
  return root;
}

}  // namespace

std::map<std::string, torch::Tensor> read_pth_state_dict(const std::string& path) {
  std::ifstream probe(path, std::ios::binary);
  if (!probe) throw InputError(fmt::format("{}: cannot open ({})", path, std::strerror(errno)));
  char magic[2] = {0, 0};
  probe.read(magic, 2);
  const ValuePtr root = magic[0] == 'P' && magic[1] == 'K' ? read_zip(path) : read_legacy(path);

  const Dict* dict = std::get_if<Dict>(&root->v);
  if (!dict) throw InputError(fmt::format("{}: holds no dict of tensors", path));
  // Training scripts often wrap the state dict: {"state_dict": {...}} or {"model": {...}}.
  for (const auto& [key, value] : dict->items) {
    const auto* k = std::get_if<std::string>(&key->v);
    const auto* inner = std::get_if<Dict>(&value->v);
    if (k && inner && (*k == "state_dict" || *k == "model")) {
      dict = inner;
      break;
    }
  }
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& [key, value] : dict->items) {
    const auto* name = std::get_if<std::string>(&key->v);
    if (!name) throw InputError(fmt::format("{}: state dict has a key that is not a string", path));
    const auto* tensor = std::get_if<torch::Tensor>(&value->v);
    if (!tensor) throw InputError(fmt::format("{}: entry '{}' is not a tensor", path, *name));
    // Own, contiguous memory: no view into a shared storage survives the load.
    tensors.emplace(*name, tensor->clone(at::MemoryFormat::Contiguous));
  }
  return tensors;
}

}  // namespace lidere
