//! Image folders on small folders the tests write: classes by folder, list files with two label
//! levels, grey and RGB, fitting; and bad input (no images, an empty class, a file that is not
//! an image or is truncated, another size or channel count, bad list lines, symlink loops and
//! broken links), each an error naming the file; random
//! damage to real PNG and JPEG files never panics.

use metric_learning::data::{Channels, Fit, ImageFolder, ImageOptions};
use metric_learning::prelude::*;
use metric_learning::Error;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};

fn folder(name: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("metric-learning-images-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    folder
}

/// An RGB image whose pixel (x, y) is (10x + class, 20y, 7).
fn write_image(path: &Path, width: u32, height: u32, class: u8) {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([10 * x as u8 + class, 20 * y as u8, 7]));
    image.save(path).unwrap();
}

/// `root/cat/{0,1,2}.png` and `root/dog/{0,1}.png`, 6 wide and 4 high.
fn two_classes(root: &Path) {
    for (class, count) in [("cat", 3), ("dog", 2)] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for i in 0..count {
            write_image(&root.join(class).join(format!("{i}.png")), 6, 4, i as u8);
        }
    }
}

fn file_error<T>(result: metric_learning::Result<T>) -> (PathBuf, String) {
    match result.map(|_| ()) {
        Err(Error::File { path, reason }) => (path, reason),
        other => panic!("expected a file error, found {other:?}"),
    }
}

#[test]
fn classes_by_folder_pixels_and_fits() {
    let root = folder("classes");
    two_classes(&root);
    let exact = ImageFolder::open(&root, ImageOptions::new(4, 6).fit(Fit::Exact)).unwrap();
    assert_eq!(exact.len(), 5);
    assert_eq!(exact.classes(), ["cat", "dog"]);
    assert_eq!(exact.labels().unwrap().int_column(0).unwrap(), [0, 0, 0, 1, 1]);
    // Pixel (x = 2, y = 1) of cat/1.png is (21, 20, 7), as floats over 255, channel first.
    let image = exact.image(1).unwrap();
    assert_eq!(image.size(), [3, 4, 6]);
    let pixel: Vec<f32> = (0..3).map(|c| image.double_value(&[c, 1, 2]) as f32).collect();
    assert_eq!(pixel, [21.0 / 255.0, 20.0 / 255.0, 7.0 / 255.0]);
    // Grey, centre-cropped to a square, batched, and cached alike.
    let grey = ImageFolder::open(&root, ImageOptions::new(3, 3).channels(Channels::Grey).cache(true)).unwrap();
    let batch = grey.get_batch(&[0, 4]).unwrap();
    assert_eq!(batch.data.size(), [2, 1, 3, 3]);
    assert!(grey.image(4).unwrap().equal(&grey.image(4).unwrap()));
    assert_eq!(ImageFolder::open(&root, ImageOptions::new(8, 8).fit(Fit::Stretch)).unwrap().image(0).unwrap().size(), [3, 8, 8]);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn jpeg_and_list_files_with_two_label_levels() {
    let root = folder("list");
    write_image(&root.join("a.jpg"), 8, 8, 0);
    write_image(&root.join("b.png"), 8, 8, 1);
    std::fs::write(root.join("list.csv"), "path,fine,coarse\na.jpg,3,1\nb.png,4,1\n").unwrap();
    let list = ImageFolder::from_list(root.join("list.csv"), ImageOptions::new(8, 8)).unwrap();
    assert_eq!(list.len(), 2);
    let labels = list.labels().unwrap();
    assert_eq!((labels.levels(), labels.int_column(0).unwrap(), labels.int_column(1).unwrap()), (2, vec![3, 4], vec![1, 1]));
    let jpeg = list.image(0).unwrap();
    // JPEG is lossy: close to the pixels written, not equal.
    assert!((jpeg.double_value(&[0, 0, 4]) - 40.0 / 255.0).abs() < 0.05);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn bad_folders_files_and_list_lines_are_errors_naming_the_file() {
    let root = folder("bad");
    let (path, reason) = file_error(ImageFolder::open(&root, ImageOptions::new(4, 4)));
    assert_eq!(path, root);
    assert!(reason.contains("expected one folder per class, found none"), "{reason}");
    std::fs::create_dir_all(root.join("empty")).unwrap();
    std::fs::write(root.join("empty").join("notes.txt"), "no images here").unwrap();
    let (path, reason) = file_error(ImageFolder::open(&root, ImageOptions::new(4, 4)));
    assert_eq!(path, root.join("empty"));
    assert!(reason.contains("a class folder without images"), "{reason}");
    std::fs::remove_dir_all(root.join("empty")).unwrap();

    two_classes(&root);
    std::fs::write(root.join("cat").join("3.png"), "not an image").unwrap();
    let png = std::fs::read(root.join("dog").join("0.png")).unwrap();
    std::fs::write(root.join("dog").join("2.png"), &png[..png.len() / 2]).unwrap();
    let images = ImageFolder::open(&root, ImageOptions::new(4, 6).fit(Fit::Exact)).unwrap();
    let (path, reason) = file_error(images.image(3));
    assert_eq!(path, root.join("cat").join("3.png"));
    assert!(reason.contains("not a readable PNG or JPEG image"), "{reason}");
    assert_eq!(file_error(images.image(6)).0, root.join("dog").join("2.png"));
    let other_size = ImageFolder::open(&root, ImageOptions::new(5, 5).fit(Fit::Exact)).unwrap();
    let (_, reason) = file_error(other_size.image(0));
    assert!(reason.contains("expected an image of 5x5, found 4x6"), "{reason}");
    let grey = ImageFolder::open(&root, ImageOptions::new(4, 6).channels(Channels::Grey).fit(Fit::Exact)).unwrap();
    let (_, reason) = file_error(grey.image(0));
    assert!(reason.contains("expected an image of 1 channels, found 3"), "{reason}");

    // A symlink loop among the class folders, and a broken link among the images: errors
    // naming them, not a class or an image silently left out.
    #[cfg(unix)]
    {
        let looped = root.join("loop");
        std::os::unix::fs::symlink(&looped, &looped).unwrap();
        let (path, reason) = file_error(ImageFolder::open(&root, ImageOptions::new(4, 6)));
        assert_eq!(path, looped);
        assert!(reason.contains("cannot be followed"), "{reason}");
        std::fs::remove_file(&looped).unwrap();
        let broken = root.join("dog").join("9.png");
        std::os::unix::fs::symlink(root.join("nowhere.png"), &broken).unwrap();
        assert_eq!(file_error(ImageFolder::open(&root, ImageOptions::new(4, 6))).0, broken);
        std::fs::remove_file(&broken).unwrap();
    }

    let list = root.join("list.csv");
    for (contents, expected) in [
        ("cat/0.png,1\ncat/9.png,2\n", "line 2:"),
        ("cat/0.png,one\n", "line 1: expected integer labels after the path, found `one`"),
        ("cat/0.png,1,2\ncat/1.png,1\n", "line 2: 1 labels where earlier lines have 2"),
        ("cat/0.png\n", "line 1: expected `path,label[,label...]`"),
        ("\n", "found none"),
    ] {
        std::fs::write(&list, contents).unwrap();
        let (path, reason) = file_error(ImageFolder::from_list(&list, ImageOptions::new(4, 4)));
        assert_eq!(path, list);
        assert!(reason.contains(expected), "{contents:?}: {reason}");
    }
    std::fs::remove_dir_all(&root).unwrap();
}

/// Thousands of damaged copies of a real PNG and JPEG, and random bytes: decoding never panics
/// (a flipped pixel byte may still decode; anything else is an error naming the file).
#[test]
fn random_damage_to_images_never_panics() {
    let root = folder("fuzz");
    std::fs::create_dir_all(root.join("class")).unwrap();
    write_image(&root.join("original.png"), 16, 12, 3);
    write_image(&root.join("original.jpg"), 16, 12, 3);
    let originals = [std::fs::read(root.join("original.png")).unwrap(), std::fs::read(root.join("original.jpg")).unwrap()];
    let target = root.join("class").join("damaged.png");
    std::fs::write(&target, &originals[0]).unwrap();
    let images = ImageFolder::open(&root, ImageOptions::new(12, 16)).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    for case in 0..2000 {
        let original = &originals[case % 2];
        let copy: Vec<u8> = match case % 3 {
            0 => original[..rng.gen_range(0..original.len())].to_vec(),
            1 => {
                let mut copy = original.clone();
                for _ in 0..rng.gen_range(1..4) {
                    let at = rng.gen_range(0..copy.len());
                    copy[at] ^= 1 << rng.gen_range(0..8);
                }
                copy
            }
            _ => (0..rng.gen_range(0..2048)).map(|_| rng.gen()).collect(),
        };
        std::fs::write(&target, &copy).unwrap();
        let result = std::panic::catch_unwind(|| images.image(0));
        match result {
            Ok(Ok(image)) => assert_eq!(image.size(), [3, 12, 16], "case {case}"),
            Ok(Err(Error::File { path, .. })) => assert_eq!(path, target, "case {case}"),
            Ok(Err(other)) => panic!("case {case}: expected a file error, found {other}"),
            Err(_) => panic!("case {case}: decoding a damaged image panicked"),
        }
    }
    std::fs::remove_dir_all(&root).unwrap();
}
